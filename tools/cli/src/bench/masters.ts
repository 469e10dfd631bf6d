// Generated masters and secure end-to-end runs, shared by the security and workflow suites so a
// quick run does not process the same clip twice.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSample } from '@reelmesh/media';
import { runWorkflow, type RunWorkflowResult } from '../run-workflow';

export class Runs {
  private readonly masters = new Map<number, Promise<string>>();
  /** Secure runs (mesh + encryption + policy) by clip length, the first one kept. */
  readonly secure = new Map<number, RunWorkflowResult>();

  constructor(private readonly workDir: string) {}

  master(seconds: number): Promise<string> {
    let path = this.masters.get(seconds);
    if (!path) {
      const dir = join(this.workDir, `master-${seconds}s`);
      const outPath = join(dir, 'master.mkv');
      path = mkdir(dir, { recursive: true })
        .then(() => generateSample({ durationSeconds: seconds, outPath }))
        .then(() => outPath);
      this.masters.set(seconds, path);
    }
    return path;
  }

  /** `provenance: false` keeps mesh and encryption but signs nothing (the provenance-cost baseline). */
  async run(seconds: number, secure: boolean, opts: { provenance?: boolean } = {}): Promise<RunWorkflowResult> {
    const input = await this.master(seconds);
    const provenance = secure && opts.provenance !== false;
    const label = secure ? (provenance ? 'secure' : 'secure-unsigned') : 'open';
    const once = () =>
      runWorkflow({ input, durationSeconds: seconds, outDir: join(this.workDir, `out-${seconds}s-${label}`), clean: true, mesh: secure, encryption: secure, provenance });
    // A port picked free can be taken by another process before a sidecar binds it (a busy
    // shared machine): that start-up failure says nothing about the workflow, so try once more.
    const result = await once().catch((error: Error) => {
      if (!/EADDRINUSE/.test(error.message)) throw error;
      return once();
    });
    if (provenance && !this.secure.has(seconds)) this.secure.set(seconds, result);
    return result;
  }

  /** A secure run of this length: the one already made, else a new one. */
  async secureRun(seconds: number): Promise<RunWorkflowResult> {
    return this.secure.get(seconds) ?? this.run(seconds, true);
  }
}
