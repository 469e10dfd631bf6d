// Suite 1 (#7.1, #18): pod start-up, spawn to ready, with and without the policy sidecar. Each
// observation is one pod of a real local runtime: from the spawn of its first process to the
// last of its processes ready (the policy sidecar once it holds the owner's policy), the pods started one after another as a node
// starts a pod (the paper's measure: a pod's start-up, not a node's queue of twenty processes).
// The groups alternate start by start. Then the whole mesh (KMS, control plane, every pod at
// once) from the call to ready, from the built bundles and, as the baseline, from source (tsx).
// Then what watching that mesh costs: its agents polled for their status vs their streams followed (watch.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ProcessGroup, programBundles, runFolders, startLocalRuntime, type RunFrom, type SpawnSpec } from '@reelmesh/runtime';
import { measureWatching, type WatchResult } from './watch';

export interface StartupResult {
  rounds: number;
  /** agent -> ms, one per start, per group. */
  withPolicy: Record<string, number[]>;
  withoutPolicy: Record<string, number[]>;
  /** The whole secure mesh, call to every pod ready (ms): from bundles, and from source (tsx). */
  meshReady: { bundle: number[]; source: number[] };
  /** What watching that mesh costs, polled vs followed (absent where /proc cannot tell). */
  watch?: WatchResult;
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

  /**
   * Pod start-up of `agent`: from the first spawn of its processes to the last one ready, as a
   * pod is Ready when every container is. The policy sidecar counts as ready once it holds the
   * owner's policy (its spawn ends after the registration that pushes it): before that the proxy
   * denies everything.
   */
  podStartupMs(agent: string): number {
    const spans = [`${agent}/policy`, `${agent}/proxy`, agent].map((n) => this.spans.get(n)).filter((s) => s !== undefined);
    if (!this.spans.has(agent)) throw new Error(`no timing for ${agent}`);
    return Math.max(...spans.map((s) => s.ready)) - Math.min(...spans.map((s) => s.start));
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
      podsOneByOne: true,
    });
    await runtime.stop(5_000);
    for (const agent of Object.keys(runtime.agents)) (into[agent] ??= []).push(group.podStartupMs(agent));
  } finally {
    await group.stop(2_000);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The whole mesh as `reelmesh up` starts it (KMS, control plane, all pods at once): ms to ready. */
async function meshReadyOnce(from: RunFrom): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-bench-mesh-ready-'));
  const group = new ProcessGroup();
  const before = process.env.REELMESH_RUN_FROM;
  process.env.REELMESH_RUN_FROM = from;
  try {
    // Built (or found fresh) before the clock starts: a build is a developer's edit, not a start-up.
    if (from === 'bundle') await programBundles();
    const start = performance.now();
    const runtime = await startLocalRuntime({ group, ...runFolders(dir), mesh: true, encryption: true });
    const ms = performance.now() - start;
    await runtime.stop(5_000);
    return ms;
  } finally {
    if (before === undefined) delete process.env.REELMESH_RUN_FROM;
    else process.env.REELMESH_RUN_FROM = before;
    await group.stop(2_000);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runStartupSuite(
  rounds: number,
  meshRounds: number,
  watch: { rounds: number; secondsPerPhase: number },
  log: (line: string) => void,
): Promise<StartupResult> {
  const result: StartupResult = { rounds, withPolicy: {}, withoutPolicy: {}, meshReady: { bundle: [], source: [] } };
  for (let i = 0; i < meshRounds; i++) {
    for (const from of i % 2 === 0 ? (['bundle', 'source'] as const) : (['source', 'bundle'] as const)) result.meshReady[from].push(await meshReadyOnce(from));
    log(`startup: mesh ready ${i + 1}/${meshRounds}: bundle ${result.meshReady.bundle.at(-1)!.toFixed(0)} ms, source ${result.meshReady.source.at(-1)!.toFixed(0)} ms`);
  }
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
  const watched = await measureWatching({ ...watch, log });
  if (watched) result.watch = watched;
  return result;
}
