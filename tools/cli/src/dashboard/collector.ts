// What the live dashboard shows, gathered in the CLI from the runtime as it runs, and pushed to the
// pages: the process group's lifecycle events (starting, ready, restarting, crashloop, start-up
// times), the agents' status streams (state, queue, progress, KMS, provenance), and the owner's audit
// ledger as it grows, streamed by the control plane (every policy decision, handoff, refusal and
// signed checkpoint). The CLI follows every agent's status stream and the ledger's; the pages only listen.
import { readFileSync } from 'node:fs';
import { followEventStream, requestJson, type Following } from '@reelmesh/http-kit';
import type { AgentView, DashboardEvent, DashboardStore, DecisionView, ErrorView, ProcessView, RunView } from '@reelmesh/dashboard';
import type { LocalRuntime, ProcessGroup } from '@reelmesh/runtime';
import { agentBySpiffeId, ownerOf, type Workflow } from '@reelmesh/workflow';

/** Throughput and the timeline are brought up to date this often between news. */
const TICK_MS = 500;
/** Ledger entries are many and small: the ledger's count is shown at most this often. */
const LEDGER_FLUSH_MS = 500;
/** Throughput is chunks done over this window. */
const RATE_WINDOW_MS = 5_000;
const TIMELINE_EVERY_MS = 1_000;

interface AgentStatus {
  agent: string;
  active: number;
  queued: number;
  progress: Record<string, number>;
  steps: AgentView['steps'];
  failures: Array<{ step: string; chunkIndex?: number; message: string }>;
  kms?: AgentView['kms'];
  provenance?: AgentView['provenance'];
  maxRssBytes?: number;
  /** The owner's run (apps/owner adds it to its status). */
  run?: RunStatus;
}

interface RunStatus {
  state: string;
  chunkCount?: number;
  deliverable?: string;
  format?: { summary: string };
  error?: { code: string; message: string };
}

/** The role of a process from its name in the group: `<agent>`, `<agent>/proxy`, `<agent>/policy`, `control-plane`, `kms`. */
function processOf(name: string, agents: Set<string>): Pick<ProcessView, 'agent' | 'role'> {
  const [agent, sidecar] = name.split('/');
  if (agents.has(agent)) return { agent, role: sidecar === 'proxy' ? 'proxy' : sidecar === 'policy' ? 'policy' : 'app' };
  return { role: name === 'control-plane' ? 'control-plane' : name === 'kms' ? 'kms' : 'other' };
}

/** The last line of a process's log that says what went wrong (an error-level JSON line, or the last line). */
export function explainingLine(logFile: string | undefined, fromByte = 0): string | undefined {
  if (!logFile) return undefined;
  let text: string;
  try {
    text = readFileSync(logFile).subarray(fromByte).toString('utf8');
  } catch {
    return undefined;
  }
  const lines = text.trimEnd().split('\n').slice(-200);
  const erroring = lines.filter((line) => /"level":\s*(50|60)|"level":"(error|fatal)"|\berror\b/i.test(line));
  return (erroring.at(-1) ?? lines.at(-1))?.slice(0, 2_000);
}

export class LiveCollector {
  readonly #store: DashboardStore;
  readonly #workflow: Workflow;
  readonly #agentNames: Set<string>;
  readonly #startedAt = Date.now();
  #runtime: LocalRuntime | undefined;
  /** The agents' status streams and the ledger's. */
  readonly #followers: Following[] = [];
  /** Every agent's latest status, as its stream last told it. */
  readonly #statuses = new Map<string, AgentStatus>();
  #ticker: NodeJS.Timeout | undefined;
  #closed = false;
  #lastTimeline = 0;
  #lastTimelineKey = '';
  readonly #rates = new Map<string, Array<{ at: number; done: number }>>();
  readonly #failuresSeen = new Set<string>();
  readonly #logFiles = new Map<string, string>();
  #chunkCount = 0;
  #ledgerFlush: NodeJS.Timeout | undefined;
  #ledgerPending: { entries: number; head: string } | undefined;

  constructor(store: DashboardStore, workflow: Workflow, group: ProcessGroup) {
    this.#store = store;
    this.#workflow = workflow;
    this.#agentNames = new Set(workflow.agents.map((a) => a.name));
    group.on('spawning', (e) => this.#process(e.name, { state: 'starting' }));
    group.on('started', (e) => {
      const managed = group.processes.find((p) => p.name === e.name);
      if (managed) this.#logFiles.set(e.name, managed.logFile);
      this.#process(e.name, { state: 'running', pid: e.pid, startupMs: e.startupMs });
    });
    group.on('restarting', (e) => {
      this.#process(e.name, { state: 'backoff', restarts: e.restarts });
      this.#error({ source: e.name, message: `exited (${e.exit}); restarting it in ${(e.delayMs / 1000).toFixed(1)} s (restart ${e.restarts})`, logLine: explainingLine(this.#logFiles.get(e.name)) });
    });
    group.on('restarted', (e) => this.#process(e.name, { state: 'running', pid: e.pid, restarts: e.restarts }));
    group.on('crashloop', (e) => {
      this.#process(e.name, { state: 'crashloop', restarts: e.restarts });
      this.#error({ source: e.name, message: e.message.split('\n')[0], logLine: explainingLine(e.logFile) });
    });
    this.#store.emit({ type: 'run', run: { state: 'starting', startedAt: new Date(this.#startedAt).toISOString() } });
  }

  /** The runtime is up: follow its agents' status streams and its ledger's until close(). */
  attach(runtime: LocalRuntime, runDir?: string): void {
    this.#runtime = runtime;
    if (runDir) this.#store.emit({ type: 'run', run: { ...this.#store.state().run, runDir } });
    for (const p of runtime.group.processes) this.#logFiles.set(p.name, p.logFile);
    for (const agent of Object.values(runtime.agents)) {
      this.#followers.push(
        followEventStream(agent.url, '/v1/status/stream', {
          headers: agent.headers,
          onMessage: (event, data) => event === 'status' && this.#status(data as AgentStatus),
        }),
      );
    }
    this.#ticker = setInterval(() => void this.#tick(), TICK_MS);
    if (runtime.controlPlane) this.#watchLedger();
  }

  /** Stop gathering; every process is shown stopped and the run as it ended. */
  close(run?: Partial<RunView>): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    for (const follower of this.#followers.splice(0)) follower.close();
    this.#flushLedger();
    for (const p of Object.values(this.#store.state().processes)) if (p.state !== 'crashloop') this.#process(p.name, { state: 'stopped' });
    const now = this.#store.state().run;
    this.#store.emit({ type: 'run', run: { ...now, ...run, state: run?.state ?? (now.state === 'done' || now.state === 'failed' ? now.state : 'stopped'), finishedAt: new Date().toISOString() } });
  }

  #process(name: string, change: Partial<ProcessView>): void {
    const before = this.#store.state().processes[name] ?? { name, ...processOf(name, this.#agentNames), state: 'starting', restarts: 0 };
    const process: ProcessView = { ...before, ...change };
    this.#store.emit({ type: 'process', process });
    if (process.agent) this.#agent(process.agent, {});
  }

  /** An agent's state: from its pod's processes, then its queue (busy while a job runs). */
  #agent(name: string, change: Partial<AgentView>): void {
    const before = this.#store.state().agents[name];
    const next: AgentView = { ...before, ...change };
    const processes = Object.values(this.#store.state().processes).filter((p) => p.agent === name);
    const states = new Set(processes.map((p) => p.state));
    next.state = states.has('crashloop')
      ? 'failed'
      : states.has('backoff') || states.has('restarting')
        ? 'restarting'
        : processes.length === 0 || states.has('starting')
          ? 'starting'
          : [...states].every((s) => s === 'stopped')
            ? 'stopped'
            : next.active > 0
              ? 'busy'
              : 'ready';
    if (JSON.stringify(next) !== JSON.stringify(before)) this.#store.emit({ type: 'agent', agent: next });
  }

  #error(error: Omit<ErrorView, 'time'>): void {
    this.#store.emit({ type: 'error', error: { time: new Date().toISOString(), ...error } });
  }

  /** An agent's news: its queue, counters, failures and progress (the owner's carries its run). */
  #status(s: AgentStatus): void {
    if (this.#closed) return;
    this.#statuses.set(s.agent, s);
    if (s.run) this.#run(s.run);
    this.#agent(s.agent, { active: s.active, queued: s.queued, steps: s.steps, kms: s.kms, provenance: s.provenance, maxRssBytes: s.maxRssBytes });
    for (const f of s.failures) {
      const key = `${s.agent} ${f.step} ${f.chunkIndex} ${f.message}`;
      if (this.#failuresSeen.has(key)) continue;
      this.#failuresSeen.add(key);
      this.#error({ source: s.agent, message: `step ${f.step}${f.chunkIndex === undefined ? '' : ` chunk ${f.chunkIndex}`} failed: ${f.message}`, logLine: explainingLine(this.#logFiles.get(s.agent)) });
    }
    this.#measure(Date.now());
  }

  /** Throughput decays and the timeline grows between news too; an owner whose status carries no run is asked for it. */
  async #tick(): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime || this.#closed) return;
    const owner = runtime.agents[ownerOf(this.#workflow).agent];
    if (owner && !this.#statuses.get(owner.agent)?.run) {
      const run = await requestJson<RunStatus>(owner.url, '/v1/runs/current', { headers: owner.headers, timeoutMs: 2_000 }).catch(() => undefined);
      if (run && !this.#closed) this.#run(run);
    }
    this.#measure(Date.now());
  }

  #measure(now: number): void {
    for (const s of this.#statuses.values()) for (const [step, done] of Object.entries(s.progress)) this.#progress(step, s.agent, done, now);
    this.#timeline(now);
  }

  #run(run: RunStatus): void {
    if (run.chunkCount) this.#chunkCount = run.chunkCount;
    const state: RunView['state'] = run.state === 'done' ? 'done' : run.state === 'failed' ? 'failed' : run.state === 'idle' ? 'starting' : 'running';
    const before = this.#store.state().run;
    const next: RunView = {
      ...before,
      state,
      ...(run.chunkCount ? { chunks: run.chunkCount } : {}),
      ...(run.deliverable ? { deliverable: run.deliverable } : {}),
      ...(run.format ? { format: run.format.summary } : {}),
      ...(run.error ? { error: `${run.error.code}: ${run.error.message}` } : {}),
    };
    if (JSON.stringify(next) !== JSON.stringify(before)) this.#store.emit({ type: 'run', run: next });
  }

  #progress(step: string, agent: string, done: number, now: number): void {
    const samples = this.#rates.get(step) ?? [];
    samples.push({ at: now, done });
    while (samples.length > 1 && now - samples[0].at > RATE_WINDOW_MS) samples.shift();
    this.#rates.set(step, samples);
    const span = (now - samples[0].at) / 1000;
    const chunksPerSecond = span > 0 ? Math.max(0, (done - samples[0].done) / span) : 0;
    const before = this.#store.state().progress[step];
    const next = { step, agent, done, total: this.#chunkCount, chunksPerSecond: Math.round(chunksPerSecond * 100) / 100 };
    if (!before || before.done !== next.done || before.total !== next.total || before.chunksPerSecond !== next.chunksPerSecond) this.#store.emit({ type: 'progress', progress: next });
  }

  #timeline(now: number): void {
    if (now - this.#lastTimeline < TIMELINE_EVERY_MS) return;
    const done = Object.fromEntries(Object.values(this.#store.state().progress).map((p) => [p.step, p.done]));
    const key = JSON.stringify(done);
    if (key === this.#lastTimelineKey && this.#lastTimeline > 0) return;
    this.#lastTimeline = now;
    this.#lastTimelineKey = key;
    this.#store.emit({ type: 'timeline', point: { t: Math.round((now - this.#startedAt) / 100) / 10, done } });
  }

  /** The control plane's ledger stream (admin), reconnected after a drop while the run goes on. */
  #watchLedger(): void {
    const cp = this.#runtime?.controlPlane;
    if (!cp || this.#closed) return;
    this.#followers.push(
      followEventStream(cp.admin.url, '/v1/audit/stream', {
        headers: { authorization: `Bearer ${cp.adminToken}` },
        retryMs: 1_000,
        onMessage: (event, data) => this.#ledgerEvent(event, data as Record<string, unknown>),
      }),
    );
  }

  #ledgerEvent(kind: string, data: Record<string, unknown>): void {
    if (kind === 'hello') {
      const ledger = data as { entries: number; head: string; checkpoint?: never };
      this.#store.emit({ type: 'ledger', ledger: { entries: ledger.entries, head: ledger.head, ...(ledger.checkpoint ? { checkpoint: ledger.checkpoint } : {}) } });
    } else if (kind === 'checkpoint') {
      this.#flushLedger();
      const c = data as { index: number; from: number; to: number; head: string; time: string; signedBy: string };
      this.#store.emit({ type: 'ledger', ledger: { entries: Math.max(this.#store.state().ledger.entries, c.to + 1), head: this.#store.state().ledger.head, checkpoint: c } });
    } else if (kind === 'entry') {
      const entry = data as { seq: number; time: string; hash: string; event: Record<string, unknown> };
      for (const e of eventsOfEntry(this.#workflow, entry.time, entry.event)) this.#store.emit(e);
      // Entry counts are many and small: one ledger update per half second.
      this.#ledgerPending = { entries: entry.seq + 1, head: entry.hash };
      this.#ledgerFlush ??= setTimeout(() => this.#flushLedger(), LEDGER_FLUSH_MS);
    }
  }

  #flushLedger(): void {
    clearTimeout(this.#ledgerFlush);
    this.#ledgerFlush = undefined;
    if (!this.#ledgerPending) return;
    this.#store.emit({ type: 'ledger', ledger: { ...this.#store.state().ledger, ...this.#ledgerPending } });
    this.#ledgerPending = undefined;
  }
}

/**
 * What one ledger entry shows on the dashboard: a policy decision, a chunk's new place (received by
 * an agent for a step), or a refusal with the broken link; other entries show nothing.
 */
export function eventsOfEntry(workflow: Workflow, time: string, event: Record<string, unknown>): DashboardEvent[] {
  const agent = (event.by as { agent?: string } | undefined)?.agent ?? '?';
  if (event.type === 'decision') return [{ type: 'decision', decision: decisionView(workflow, agent, event.decision as LoggedDecision) }];
  if (event.type === 'handoff-received') return [{ type: 'chunk', position: { chunk: Number(event.chunk), agent, step: String(event.step), time } }];
  if (event.type === 'handoff-refused') {
    return [
      {
        type: 'refusal',
        refusal: { time, agent, from: String(event.from ?? '?'), step: String(event.step), artifact: String(event.artifact), chunk: Number(event.chunk), reason: String(event.reason ?? '') },
      },
    ];
  }
  return [];
}

/** A policy sidecar's decision as the ledger holds it (OPA's decision-log event). */
interface LoggedDecision {
  decision_id: string;
  timestamp: string;
  input?: { source?: string; destination?: string; method?: string; path?: string } | null;
  result?: unknown;
  reason?: string;
  error?: unknown;
}

/** A decision of the ledger as the page lists it: principals as agent names where the workflow knows them. */
export function decisionView(workflow: Workflow, agent: string, d: LoggedDecision): DecisionView {
  const name = (principal: string | undefined) => (principal ? (agentBySpiffeId(workflow, principal)?.name ?? principal) : '?');
  const result = d.result as { allow?: unknown; allowed?: unknown } | boolean | undefined;
  const allowed = typeof result === 'boolean' ? result : result?.allow === true || result?.allowed === true;
  return {
    id: d.decision_id,
    time: d.timestamp,
    agent,
    source: name(d.input?.source),
    destination: name(d.input?.destination),
    method: d.input?.method ?? '?',
    path: d.input?.path ?? '?',
    allowed,
    reason: d.reason ?? (d.error ? 'evaluation error' : allowed ? 'allowed' : 'denied'),
  };
}
