import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { basename, dirname, join, resolve } from 'node:path';
import { generateSample } from '@reelmesh/media';
import { ProcessGroup, startLocalRuntime, type LocalRuntime, type RunningAgent } from '@reelmesh/runtime';
import { DEFAULT_OUTAGE_DEADLINE_MS, waitOutOutages } from '@reelmesh/agent-kit';
import { followEventStream, requestJson, type Following } from '@reelmesh/http-kit';
import { workflowDigest } from '@reelmesh/provenance';
import { loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { startChaos, type ChaosOptions, type ChaosReport } from './chaos';
import type { Progress } from './progress';
import { readRunManifest, writeRunManifest, type RunManifest } from './run-folder';

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
  /** A cap on the whole run (none by default: a long film takes as long as it takes). */
  timeoutMs?: number;
  /** Fail when no step has finished a chunk for this long (default 10 min): a stuck run, whatever the film's length. */
  stallTimeoutMs?: number;
  /** Seal everything at rest (default true). */
  encryption?: boolean;
  /** Every agent as a pod behind mTLS and policy sidecars (default true). */
  mesh?: boolean;
  /** 'netns': every pod in its own network namespace (Linux, root). */
  isolation?: 'none' | 'netns';
  /** Signed provenance at every hop (default true with the mesh); false only for the bench's baseline. */
  provenance?: boolean;
  /** Called once every process is up, before the master is handed over (the dashboard starts watching). */
  onRuntime?: (runtime: LocalRuntime, runDir: string) => void;
  /** Called with the finished run while every process is still up (tests inspect the live system). */
  beforeStop?: (runtime: LocalRuntime, result: RunWorkflowResult) => Promise<void>;
  /** kill -9 a random process of the mesh every so often through the run (it must survive). */
  chaos?: ChaosOptions;
  /**
   * Continue the run in this folder (its run.json, volumes and platform state) instead of starting
   * one: the agents take up their volumes; nothing finished is done again.
   */
  resume?: string;
  /** Extra environment for every agent (e.g. a short outage deadline). */
  agentEnv?: Record<string, string>;
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
  /** The run's folder (`reelmesh demo --resume <it>` continues it). */
  runDir: string;
  /** Process -> times the runtime restarted it during this run (only those restarted). */
  restarts: Record<string, number>;
  /** What the agents took up from their volumes, over every (re)start in this run folder; chunks the owner re-dispatched. */
  resumed: { done: number; resent: number; rescheduled: number; redispatched: number };
  /** With chaos: every kill made during the run. */
  chaos?: ChaosReport;
}

interface AgentStatus {
  agent: string;
  redispatched?: number;
  progress: Record<string, number>;
  steps: Record<string, { received: number; completed: number; failed: number; busyMs: number; firstStartedAt?: number; lastFinishedAt?: number }>;
  failures: Array<{ step: string; chunkIndex?: number; message: string }>;
  kms?: { generateDataKey: number; decrypt: number; failures: number };
  provenance?: { recordsSigned: number; chainsVerified: number; signMs: number; verifyMs: number };
  maxRssBytes: number;
  ffmpeg?: { path: string; source: string };
  /** The owner's run (apps/owner adds it to its status). */
  run?: RunStatus;
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

/** Whether any status arrived since the run loop last looked, and a wait for the next one. */
class StatusNews {
  #fresh = false;
  #wake: (() => void) | undefined;

  arrived(): void {
    this.#fresh = true;
    this.#wake?.();
  }

  /** The loop is looking at every status now: what arrives from here on is news. */
  taken(): void {
    this.#fresh = false;
  }

  /** Resolves at the next status (at once if one arrived since taken()) or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.#fresh) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/**
 * Run the whole workflow once on this machine: start every agent, feed the master, wait for the
 * deliverable. Every process is supervised (restarted with backoff when it dies); the run fails
 * only when one keeps crashing, a step fails for good, or the deadline passes — and then it can be
 * continued with `resume: <run folder>`.
 */
/** How long a run may go without any step finishing a chunk before it is called stuck. */
export const DEFAULT_STALL_TIMEOUT_MS = 10 * 60_000;

export async function runWorkflow(options: RunWorkflowOptions): Promise<RunWorkflowResult> {
  const workflow = loadWorkflow(options.workflowPath);
  let manifest: RunManifest;
  let runDir: string;
  if (options.resume) {
    runDir = resolve(options.resume);
    manifest = await readRunManifest(runDir, workflow);
    const info = await stat(manifest.input).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`the run's master ${manifest.input} is gone; it cannot be resumed`);
    options.progress?.line(`resuming the run in ${runDir}`);
  } else {
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
    runDir = options.dataRoot ? resolve(options.dataRoot, '..') : await mkdtemp(join(outDir, 'run-'));
    manifest = {
      version: 1,
      workflowId: workflow.metadata.id,
      workflowDigest: workflowDigest(workflow),
      ...(options.workflowPath ? { workflowPath: resolve(options.workflowPath) } : {}),
      input,
      outDir,
      dataRoot: options.dataRoot ? resolve(options.dataRoot) : join(runDir, 'data'),
      stateDir: join(runDir, 'state'),
      security: { mesh: options.mesh !== false, encryption: options.encryption !== false, provenance: options.provenance !== false, isolation: options.isolation ?? 'none' },
      createdAt: new Date().toISOString(),
    };
    await mkdir(runDir, { recursive: true });
    await writeRunManifest(runDir, manifest);
    options.progress?.line(`run folder: ${runDir}`);
  }
  const { input, outDir, dataRoot, stateDir, security } = manifest;
  const started = Date.now();
  const group = new ProcessGroup();
  options.onGroup?.(group);
  let crash: string | undefined;
  // A process that dies is restarted (progress says so); one that keeps crashing ends the run.
  group.on('restarting', (e) => options.progress?.line(`${e.name} exited (${e.exit}): restarting it in ${(e.delayMs / 1000).toFixed(1)} s (restart ${e.restarts})`));
  group.on('crashloop', (e) => (crash ??= e.message));
  const runtimeStarting = Date.now();
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      group,
      workflowPath: manifest.workflowPath ?? options.workflowPath,
      dataRoot,
      stateDir,
      encryption: security.encryption,
      mesh: security.mesh,
      isolation: security.isolation,
      env: { ...options.agentEnv, ...(security.provenance ? {} : { REELMESH_PROVENANCE: 'off' }) },
      exportDir: outDir,
      ingestDir: dirname(input),
    });
  } catch (error) {
    throw resumable(error as Error, runDir);
  }
  options.onRuntime?.(runtime, runDir);
  let followers: Following[] = [];
  const chaos = options.chaos && startChaos(runtime, { ...options.chaos, onKill: (k) => { options.chaos?.onKill?.(k); options.progress?.line(`chaos: kill -9 ${k.name} (pid ${k.pid})`); } });
  try {
    const runStarted = Date.now();
    const owner = runtime.agents[ownerOf(workflow).agent];
    // A resumed owner has taken its run up from its volume by the time it is ready; a fresh one (or
    // one that died before it recorded the run) is handed the master.
    const current = await getJson<RunStatus>(owner, '/v1/runs/current');
    const body =
      current.state !== 'idle'
        ? current
        : // An owner that cannot seal the master right now (its KMS restarting, a full disk: 503/507)
          // or is itself restarting is waited out as every sender waits out an outage.
          await waitOutOutages(
            'handing the master to the owner',
            async () => {
              const now = await requestJson<RunStatus>(owner.url, '/v1/runs/current', { headers: owner.headers });
              if (now.state !== 'idle') return now;
              return requestJson<RunStatus>(owner.url, '/v1/runs', { method: 'POST', headers: owner.headers, json: { input: basename(input) } });
            },
            { deadlineMs: DEFAULT_OUTAGE_DEADLINE_MS },
          ).catch((error: Error & { code?: string }) => {
            // Bad input (or an outage past its deadline), not an interruption: nothing to continue.
            throw Object.assign(new Error(`owner refused the master: ${error.code}: ${error.message}`), { final: true });
          });
    const chunkCount = body.chunkCount ?? 0;
    if (body.format) options.progress?.line(`format: ${body.format.summary}`);
    // A stuck run fails; a long one does not: what counts is the time since a step last finished
    // a chunk (a fixed 30 min cap used to stop a 10-minute film's secure run, which takes ~50 min here).
    const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
    const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    let progressSeen = '';
    let progressAt = Date.now();
    // Every agent's status is followed as a stream: it speaks when a step finishes a chunk, a step
    // fails or the run's state moves (GET /v1/status/stream), instead of being asked 5 times a
    // second. While a process is being restarted its stream is opened again; its last status stands in.
    const agents = Object.values(runtime.agents);
    const last = new Map<string, AgentStatus>();
    const news = new StatusNews();
    followers = agents.map((a) =>
      followEventStream(a.url, '/v1/status/stream', {
        headers: a.headers,
        onMessage: (event, data) => {
          if (event !== 'status') return;
          last.set(a.agent, data as AgentStatus);
          news.arrived();
        },
      }),
    );
    let lastRun: RunStatus = body;
    for (;;) {
      if (crash) throw new Error(crash);
      if (Date.now() > deadline) throw new Error('workflow timed out');
      news.taken();
      let statuses = agents.map((a) => last.get(a.agent)).filter((x): x is AgentStatus => x !== undefined);
      // The owner's status carries its run (apps/owner); an owner whose does not is asked for it.
      const run = last.get(owner.agent)?.run ?? (await getJson<RunStatus>(owner, '/v1/runs/current').catch(() => lastRun));
      lastRun = run;
      const progress = JSON.stringify([run.state, statuses.map((x) => x.progress)]);
      if (progress !== progressSeen) [progressSeen, progressAt] = [progress, Date.now()];
      else if (Date.now() - progressAt > stallMs) throw new Error(`workflow stalled: no step finished a chunk for ${Math.round(stallMs / 1000)} s`);
      for (const s of statuses) {
        for (const [step, done] of Object.entries(s.progress)) options.progress?.update(step, done, chunkCount);
        const failure = s.failures[0];
        if (failure) throw new Error(`${s.agent} failed step ${failure.step}${failure.chunkIndex === undefined ? '' : ` chunk ${failure.chunkIndex}`}: ${failure.message}`);
      }
      if (run.state === 'failed') throw new Error(`run failed: ${run.error?.code}: ${run.error?.message}`);
      if (run.state === 'done' && run.deliverable && statuses.length === agents.length) {
        // The figures of the summary (KMS calls, provenance, RSS) as they stand now, not at the last news.
        statuses = await Promise.all(agents.map((a) => getJson<AgentStatus>(a, '/v1/status').catch(() => last.get(a.agent)!)));
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
          runDir,
          ...(chaos ? { chaos: chaos.stop() } : {}),
          restarts: Object.fromEntries(Object.entries(runtime.group.restarts()).filter(([, n]) => n > 0)),
          resumed: { ...(await resumesLogged(Object.values(runtime.agents).map((a) => a.logFile))), redispatched: statuses.reduce((n, s) => n + (s.redispatched ?? 0), 0) },
        };
        await options.beforeStop?.(runtime, result);
        return result;
      }
      // Deadlines, stalls and crashes are looked at again at least this often without news.
      await news.next(1_000);
    }
  } catch (error) {
    throw resumable(error as Error, runDir);
  } finally {
    for (const follower of followers) follower.close();
    chaos?.stop();
    await runtime.stop();
    options.progress?.stop();
    if (options.clean) await rm(options.dataRoot ? dataRoot : runDir, { recursive: true, force: true });
  }
}

/**
 * What the agents took up from their volumes, summed over every start of every agent in this run
 * folder (each logs 'resumed from the volume' with its summary): step chunks found done, outputs
 * re-sent, jobs run again.
 */
async function resumesLogged(logFiles: string[]): Promise<{ done: number; resent: number; rescheduled: number }> {
  const total = { done: 0, resent: 0, rescheduled: 0 };
  for (const file of logFiles) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.includes('resumed from the volume')) continue;
      const resume = (JSON.parse(line) as { resume?: Partial<typeof total> }).resume;
      for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += resume?.[k] ?? 0;
    }
  }
  return total;
}

/** A failed run says how to continue it: its volumes and state are kept. */
function resumable(error: Error, runDir: string): Error {
  if ((error as { final?: boolean }).final) return error;
  return Object.assign(new Error(`${error.message} (the run is kept: continue it with reelmesh demo --resume ${runDir})`, { cause: error }), { runDir });
}
