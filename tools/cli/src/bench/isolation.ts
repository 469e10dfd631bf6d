import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { handoffPath } from '@reelmesh/addressing';
import { REPO_ROOT, runFolders, startLocalRuntime, type Isolation } from '@reelmesh/runtime';
import { accessMatrix, ownerOf } from '@reelmesh/workflow';

const LATENCY_PROBE = fileURLToPath(new URL('./latency-probe.ts', import.meta.url));

const run = promisify(execFile);

export interface IsolationLatency {
  isolation: Isolation;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface IsolationBenchReport {
  results: IsolationLatency[];
  /** What isolation adds over plain local mode. */
  overhead: { p50Ms: number; p99Ms: number };
}

/**
 * 1 KB POST latency from the owner's app seat, through the owner -> vfx-1 proxy pair (mTLS +
 * policy), in plain local mode and in isolated mode. The probe runs where the app runs (inside
 * the pod's namespace as the app uid when isolated), so port-forwards are not in the path.
 */
export async function benchIsolation(opts: { requests?: number; warmup?: number; bodyBytes?: number; modes?: Isolation[] } = {}): Promise<IsolationBenchReport> {
  const results: IsolationLatency[] = [];
  for (const isolation of opts.modes ?? (['none', 'netns'] as Isolation[])) {
    const dir = await mkdtemp(join(tmpdir(), `rm-bench-${isolation}-`));
    const runtime = await startLocalRuntime({ ...runFolders(dir), isolation });
    try {
      const owner = ownerOf(runtime.workflow).agent;
      const pod = runtime.agents[owner].pod!;
      // Isolated: the probe runs inside the owner's pod, where its outbound listener is on the pod's loopback.
      const outbound = runtime.agents[owner].netns ? `http://127.0.0.1:${runtime.agents[owner].netns!.outboundPort}` : pod.outboundUrl;
      const edge = accessMatrix(runtime.workflow).find((r) => r.source === owner)!;
      const path = handoffPath({ workflowId: runtime.workflow.metadata.id, step: edge.step, artifact: edge.artifact, chunkIndex: 0 });
      const probe = ['--import', 'tsx', LATENCY_PROBE, '--outbound', outbound, '--host', edge.destination, '--path', path,
        '--requests', String(opts.requests ?? 2000), '--warmup', String(opts.warmup ?? 200), '--bytes', String(opts.bodyBytes ?? 1024)];
      const [cmd, ...args] = runtime.sandbox ? [...runtime.sandbox.command(owner, 'app'), process.execPath, ...probe] : [process.execPath, ...probe];
      // The pod's token (the outbound listener takes requests only from its own app) by environment, never argv.
      const env = { ...process.env, REELMESH_PROBE_HEADERS: JSON.stringify(runtime.agents[owner].headers) };
      const { stdout } = await run(cmd, args, { cwd: REPO_ROOT, maxBuffer: 1 << 20, env });
      results.push({ isolation, ...JSON.parse(stdout.trim().split('\n').at(-1)!) });
    } finally {
      await runtime.stop(3_000);
      await rm(dir, { recursive: true, force: true });
    }
  }
  const by = (m: Isolation) => results.find((r) => r.isolation === m);
  const none = by('none');
  const netns = by('netns');
  return { results, overhead: { p50Ms: none && netns ? netns.p50Ms - none.p50Ms : NaN, p99Ms: none && netns ? netns.p99Ms - none.p99Ms : NaN } };
}
