import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { generateSample } from '@reelmesh/media';
import { ProcessGroup, startLocalRuntime, type LocalRuntime, type RunningAgent } from '@reelmesh/runtime';
import { requestJson } from '@reelmesh/http-kit';
import { loadWorkflow, ownerOf } from '@reelmesh/workflow';
import type { Progress } from './progress';

/** The generated sample's own format (default 1280x720, 25 fps, stereo). */
export interface SampleFormat {
  width?: number;
  height?: number;
  frameRate?: string;
  channels?: 1 | 2 | 6;
}

export interface RunWorkflowOptions {
  input?: string;
  durationSeconds: number;
  sample?: SampleFormat;
  outDir: string;
  dataRoot?: string;
  clean?: boolean;
  workflowPath?: string;
  progress?: Progress;
  /** Called before anything is spawned with the group every process goes into (Ctrl-C stops it). */
  onGroup?: (group: ProcessGroup) => void;
  timeoutMs?: number;
  /** Seal everything at rest (default true). */
  encryption?: boolean;
  /** Every agent as a pod behind mTLS and policy sidecars (default true). */
  mesh?: boolean;
  /** 'netns': every pod in its own network namespace (Linux, root). */
  isolation?: 'none' | 'netns';
  /** Signed provenance at every hop (default true with the mesh); false only for the bench's baseline. */
  provenance?: boolean;
  /** Called with the finished run while every process is still up (tests inspect the live system). */
  beforeStop?: (runtime: LocalRuntime, result: RunWorkflowResult) => Promise<void>;
}

export interface RunWorkflowResult {
  deliverable: string;
  input: string;
  chunks: number;
  /** The master's format, the delivery's and any conform, as the owner reported them. */
  format?: { summary: string; conform?: string; frames: number; master: unknown; delivery: unknown };
  /** agent -> wall seconds from its first job start to its last job end. */
  steps: Record<string, number>;
  /** agent -> seconds spent inside jobs (summed over concurrent jobs). */
  busySeconds: Record<string, number>;
  wallSeconds: number;
  /** Seconds to start every process (pods, control plane, KMS) until all were ready. */
  startupSeconds: number;
  /** Seconds from handing the master to the owner until the deliverable was written. */
  runSeconds: number;
  dataRoot: string;
  pids: Record<string, number>;
  /** Peak RSS of each agent's own process, bytes. */
  maxRssBytes: Record<string, number>;
  /** agent -> the ffmpeg its jobs ran (path, and 'path' | 'bundled' | 'env'). */
  ffmpeg: Record<string, { path: string; source: string } | undefined>;
  security: { mesh: boolean; encryption: boolean };
  /** The mesh CA bundle: the trust anchor for `reelmesh provenance verify <out> --ca <it>`. */
  caBundle?: string;
  /** KMS calls made by all agents (GenerateDataKey + Decrypt), and per chunk. */
  kmsCalls: number;
  kmsCallsPerChunk: number;
  /** CPU time all agents spent signing and verifying provenance (ms), and its share of the run's wall time. */
  provenance: { recordsSigned: number; chainsVerified: number; signMs: number; verifyMs: number; shareOfWall: number };
}

interface AgentStatus {
  agent: string;
  progress: Record<string, number>;
  steps: Record<string, { received: number; completed: number; failed: number; busyMs: number; firstStartedAt?: number; lastFinishedAt?: number }>;
  failures: Array<{ step: string; chunkIndex?: number; message: string }>;
  kms?: { generateDataKey: number; decrypt: number; failures: number };
  provenance?: { recordsSigned: number; chainsVerified: number; signMs: number; verifyMs: number };
  maxRssBytes: number;
  ffmpeg?: { path: string; source: string };
}

interface RunStatus {
  state: string;
  chunkCount?: number;
  format?: RunWorkflowResult['format'];
  deliverable?: string;
  error?: { code: string; message: string };
}

/**
 * An agent's JSON answer (its endpoint may be a Unix socket: the http-kit client reaches both),
 * asked with what the app requires of a caller (its pod's token).
 */
async function getJson<T>(agent: RunningAgent, path: string): Promise<T> {
  try {
    return await requestJson<T>(agent.url, path, { headers: agent.headers });
  } catch (error) {
    throw new Error(`${agent.url}${path}: ${(error as Error & { code?: string }).code ?? ''} ${(error as Error).message}`.trim());
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run the whole workflow once on this machine: start every agent, feed the master, wait for the deliverable. */
export async function runWorkflow(options: RunWorkflowOptions): Promise<RunWorkflowResult> {
  const workflow = loadWorkflow(options.workflowPath);
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  let input: string;
  if (options.input) {
    input = resolve(options.input);
    const info = await stat(input).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`input ${input} is not a readable file`);
  } else {
    input = join(outDir, 'sample-master.mkv');
    options.progress?.line(`generating a ${options.durationSeconds} s sample master`);
    await generateSample({ durationSeconds: options.durationSeconds, outPath: input, ...options.sample });
  }
  const runDir = options.dataRoot ? resolve(options.dataRoot, '..') : await mkdtemp(join(outDir, 'run-'));
  const dataRoot = options.dataRoot ? resolve(options.dataRoot) : join(runDir, 'data');
  const stateDir = join(runDir, 'state');
  const started = Date.now();
  const group = new ProcessGroup();
  options.onGroup?.(group);
  const runtimeStarting = Date.now();
  const runtime = await startLocalRuntime({
    group,
    workflowPath: options.workflowPath,
    dataRoot,
    stateDir,
    encryption: options.encryption,
    mesh: options.mesh,
    isolation: options.isolation,
    ...(options.provenance === false ? { env: { REELMESH_PROVENANCE: 'off' } } : {}),
    exportDir: outDir,
    ingestDir: dirname(input),
  });
  const crashed = Promise.race(
    runtime.group.processes.map((p) => p.exited.then((code) => `${p.name} exited unexpectedly (${code}); see ${p.logFile}`)),
  );
  let crash: string | undefined;
  void crashed.then((why) => (crash = why));
  try {
    const runStarted = Date.now();
    const owner = runtime.agents[ownerOf(workflow).agent];
    const body = await requestJson<RunStatus>(owner.url, '/v1/runs', { method: 'POST', headers: owner.headers, json: { input: basename(input) } }).catch((error: Error & { code?: string }) => {
      throw new Error(`owner refused the master: ${error.code}: ${error.message}`);
    });
    const chunkCount = body.chunkCount ?? 0;
    if (body.format) options.progress?.line(`format: ${body.format.summary}`);
    const deadline = started + (options.timeoutMs ?? 30 * 60_000);
    for (;;) {
      if (crash) throw new Error(crash);
      if (Date.now() > deadline) throw new Error('workflow timed out');
      const [run, statuses] = await Promise.all([
        getJson<RunStatus>(owner, '/v1/runs/current'),
        Promise.all(Object.values(runtime.agents).map((a) => getJson<AgentStatus>(a, '/v1/status'))),
      ]);
      for (const s of statuses) {
        for (const [step, done] of Object.entries(s.progress)) options.progress?.update(step, done, chunkCount);
        const failure = s.failures[0];
        if (failure) throw new Error(`${s.agent} failed step ${failure.step}${failure.chunkIndex === undefined ? '' : ` chunk ${failure.chunkIndex}`}: ${failure.message}`);
      }
      if (run.state === 'failed') throw new Error(`run failed: ${run.error?.code}: ${run.error?.message}`);
      if (run.state === 'done' && run.deliverable) {
        const steps: Record<string, number> = {};
        const busySeconds: Record<string, number> = {};
        for (const s of statuses) {
          const spans = Object.values(s.steps);
          const first = Math.min(...spans.map((x) => x.firstStartedAt ?? Infinity));
          const last = Math.max(...spans.map((x) => x.lastFinishedAt ?? -Infinity));
          steps[s.agent] = Number.isFinite(first) && Number.isFinite(last) ? (last - first) / 1000 : 0;
          busySeconds[s.agent] = spans.reduce((sum, x) => sum + x.busyMs, 0) / 1000;
        }
        const pids = Object.fromEntries(Object.values(runtime.agents).map((a) => [a.agent, a.pid]));
        const kmsCalls = statuses.reduce((n, s) => n + (s.kms ? s.kms.generateDataKey + s.kms.decrypt : 0), 0);
        const wallSeconds = (Date.now() - started) / 1000;
        const sum = (k: 'recordsSigned' | 'chainsVerified' | 'signMs' | 'verifyMs') => statuses.reduce((n, s) => n + (s.provenance?.[k] ?? 0), 0);
        const result: RunWorkflowResult = {
          deliverable: run.deliverable,
          input,
          chunks: chunkCount,
          ...(body.format ? { format: body.format } : {}),
          steps,
          busySeconds,
          wallSeconds,
          startupSeconds: (runStarted - runtimeStarting) / 1000,
          runSeconds: (Date.now() - runStarted) / 1000,
          dataRoot,
          pids,
          maxRssBytes: Object.fromEntries(statuses.map((s) => [s.agent, s.maxRssBytes])),
          ffmpeg: Object.fromEntries(statuses.map((s) => [s.agent, s.ffmpeg])),
          security: { mesh: options.mesh !== false, encryption: options.encryption !== false },
          ...(options.mesh !== false ? { caBundle: join(stateDir, 'mesh', 'ca', 'ca-cert.pem') } : {}),
          kmsCalls,
          kmsCallsPerChunk: chunkCount ? kmsCalls / chunkCount : 0,
          provenance: {
            recordsSigned: sum('recordsSigned'),
            chainsVerified: sum('chainsVerified'),
            signMs: sum('signMs'),
            verifyMs: sum('verifyMs'),
            shareOfWall: (sum('signMs') + sum('verifyMs')) / (wallSeconds * 1000),
          },
        };
        await options.beforeStop?.(runtime, result);
        return result;
      }
      await sleep(200);
    }
  } finally {
    await runtime.stop();
    options.progress?.stop();
    if (options.clean) await rm(options.dataRoot ? dataRoot : runDir, { recursive: true, force: true });
  }
}
