// Suite 1 (#7.1): pod start-up, spawn to ready, with and without the policy sidecar. Each
// observation is one pod of a real local runtime: from the spawn of its first process (policy
// sidecar, else proxy) to its app's ready message. The groups alternate start by start.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ProcessGroup, startLocalRuntime, type SpawnSpec } from '@reelmesh/runtime';

export interface StartupResult {
  rounds: number;
  /** agent -> ms, one per start, per group. */
  withPolicy: Record<string, number[]>;
  withoutPolicy: Record<string, number[]>;
}

/** A process group that remembers when each process was spawned and when it was ready. */
class TimedProcessGroup extends ProcessGroup {
  readonly spans = new Map<string, { start: number; ready: number }>();

  override async spawn(spec: SpawnSpec) {
    const start = performance.now();
    const result = await super.spawn(spec);
    this.spans.set(spec.name, { start, ready: performance.now() });
    return result;
  }

  /** Pod start-up of `agent`: first sidecar spawn to the app's ready. */
  podStartupMs(agent: string): number {
    const app = this.spans.get(agent);
    if (!app) throw new Error(`no timing for ${agent}`);
    const first = Math.min(...[`${agent}/policy`, `${agent}/proxy`, agent].map((n) => this.spans.get(n)?.start ?? Infinity));
    return app.ready - first;
  }
}

async function startOnce(withPolicy: boolean, into: Record<string, number[]>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-bench-startup-'));
  const group = new TimedProcessGroup();
  try {
    const runtime = await startLocalRuntime({
      group,
      dataRoot: join(dir, 'data'),
      stateDir: join(dir, 'state'),
      exportDir: dir,
      ingestDir: dir,
      encryption: false, // the KMS is not part of a pod; keep it out of the measurement
      mesh: true,
      meshOptions: { withoutPolicy: !withPolicy },
    });
    await runtime.stop(5_000);
    for (const agent of Object.keys(runtime.agents)) (into[agent] ??= []).push(group.podStartupMs(agent));
  } finally {
    await group.stop(2_000);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runStartupSuite(rounds: number, log: (line: string) => void): Promise<StartupResult> {
  const result: StartupResult = { rounds, withPolicy: {}, withoutPolicy: {} };
  for (let i = 0; i < rounds; i++) {
    // Alternate which group goes first so drift on the machine hits both alike.
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const withPolicy of order) {
      const into = withPolicy ? result.withPolicy : result.withoutPolicy;
      // A free port taken by another process before a sidecar binds it (busy shared machine) is
      // not a start-up time: drop that start and take it again, once.
      await startOnce(withPolicy, into).catch((error: Error) => {
        if (!/EADDRINUSE/.test(error.message)) throw error;
        return startOnce(withPolicy, into);
      });
    }
    if ((i + 1) % 10 === 0 || i + 1 === rounds) log(`startup: ${i + 1}/${rounds} rounds`);
  }
  return result;
}
