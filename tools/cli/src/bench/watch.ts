// What watching a run costs (#18): the CLI used to ask every agent for GET /v1/status 5 times a
// second; it now follows each agent's status stream (GET /v1/status/stream), which speaks only
// when something changed. Both ways are measured on one secure mesh, as `reelmesh up` starts it,
// in alternated phases of the same length: the agents' CPU (from /proc) and the watcher's own.
// The mesh is idle, so what is measured is the cost of the watching itself, not of the news.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followEventStream, requestJson } from '@reelmesh/http-kit';
import { ProcessGroup, runFolders, startLocalRuntime, type LocalRuntime } from '@reelmesh/runtime';
import { procCpuSeconds } from './proc-cpu';

/** How often the CLI asked every agent for its status before the streams. */
export const POLL_EVERY_MS = 200;

export interface WatchResult {
  secondsPerPhase: number;
  agents: number;
  /** CPU ms of all the agents together, and of the watcher, one entry per phase. */
  polled: { agentsCpuMs: number[]; watcherCpuMs: number[]; requests: number[] };
  streamed: { agentsCpuMs: number[]; watcherCpuMs: number[]; messages: number[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function agentsCpuSeconds(runtime: LocalRuntime): number {
  let total = 0;
  for (const agent of Object.values(runtime.agents)) {
    const cpu = procCpuSeconds(agent.pid);
    if (cpu === undefined) throw new Error(`no CPU figure for ${agent.agent} (pid ${agent.pid}) in /proc`);
    total += cpu;
  }
  return total;
}

const watcherCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One phase: `watch` runs for `seconds`; the agents' and this process's CPU over it. */
async function phase(runtime: LocalRuntime, seconds: number, watch: () => { stop(): number }): Promise<{ agentsCpuMs: number; watcherCpuMs: number; count: number }> {
  const agents0 = agentsCpuSeconds(runtime);
  const watcher0 = watcherCpuMs();
  const watching = watch();
  await sleep(seconds * 1000);
  const count = watching.stop();
  // Let the last answers land before reading the clocks.
  await sleep(100);
  return { agentsCpuMs: (agentsCpuSeconds(runtime) - agents0) * 1000, watcherCpuMs: watcherCpuMs() - watcher0, count };
}

function poll(runtime: LocalRuntime): { stop(): number } {
  let requests = 0;
  const timer = setInterval(() => {
    for (const a of Object.values(runtime.agents)) {
      requests++;
      void requestJson(a.url, '/v1/status', { headers: a.headers }).catch(() => undefined);
    }
  }, POLL_EVERY_MS);
  return {
    stop() {
      clearInterval(timer);
      return requests;
    },
  };
}

function stream(runtime: LocalRuntime): { stop(): number } {
  let messages = 0;
  const followers = Object.values(runtime.agents).map((a) => followEventStream(a.url, '/v1/status/stream', { headers: a.headers, onMessage: () => void messages++ }));
  return {
    stop() {
      for (const f of followers) f.close();
      return messages;
    },
  };
}

export async function measureWatching(opts: { rounds: number; secondsPerPhase: number; log: (line: string) => void }): Promise<WatchResult | undefined> {
  if (procCpuSeconds('self') === undefined) {
    opts.log('watch: SKIPPED: no /proc on this system to read the agents\' CPU from');
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-bench-watch-'));
  const group = new ProcessGroup();
  try {
    const runtime = await startLocalRuntime({ group, ...runFolders(dir), mesh: true, encryption: true });
    const result: WatchResult = {
      secondsPerPhase: opts.secondsPerPhase,
      agents: Object.keys(runtime.agents).length,
      polled: { agentsCpuMs: [], watcherCpuMs: [], requests: [] },
      streamed: { agentsCpuMs: [], watcherCpuMs: [], messages: [] },
    };
    // Settle after start-up (its JIT and GC would land in the first phase).
    await sleep(1_000);
    for (let i = 0; i < opts.rounds; i++) {
      for (const way of i % 2 === 0 ? (['polled', 'streamed'] as const) : (['streamed', 'polled'] as const)) {
        const p = await phase(runtime, opts.secondsPerPhase, way === 'polled' ? () => poll(runtime) : () => stream(runtime));
        result[way].agentsCpuMs.push(p.agentsCpuMs);
        result[way].watcherCpuMs.push(p.watcherCpuMs);
        if (way === 'polled') result.polled.requests.push(p.count);
        else result.streamed.messages.push(p.count);
      }
      opts.log(`watch: round ${i + 1}/${opts.rounds}: agents ${result.polled.agentsCpuMs.at(-1)!.toFixed(0)} CPU-ms polled vs ${result.streamed.agentsCpuMs.at(-1)!.toFixed(0)} streamed in ${opts.secondsPerPhase} s`);
    }
    await runtime.stop(5_000);
    return result;
  } finally {
    await group.stop(2_000);
    await rm(dir, { recursive: true, force: true });
  }
}
