import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { buildGraph, type Edge, type Step, type Workflow } from '@reelmesh/workflow';
import { sendChunk, SlotIndex, slotOfRecordKey, type ChunkSlot, type ReceivedChunk } from '@reelmesh/handoff';
import { currentTrace, traceJob } from '@reelmesh/media';
import type { ObjectContext, ObjectStore, ObjectWriter } from '@reelmesh/storage';
import type { AuditTrail } from './audit-trail';
import type { ChunkProvenance } from './chunk-provenance';
import { ChunkSet } from './chunk-set';
import { JobQueue } from './job-queue';
import { JobStateStore, refusal, ResumeError, type OutputsRecord, type StoredOutput } from './job-state';
import { DEFAULT_OUTAGE_DEADLINE_MS, waitOutOutages } from './outage';
import { StepStats } from './step-stats';

/** A re-openable input: a job may read an input more than once (e.g. two-pass loudness). */
export type Source = () => Promise<Readable>;

export interface ChunkJob {
  step: Step;
  chunkIndex: number;
  chunkCount: number;
  /** Inputs by artifact name (empty for a source step). */
  inputs: Record<string, Source>;
  /** Outputs by artifact name: one per distinct artifact on the step's outgoing edges. */
  outputs: Record<string, Writable>;
}

export interface GatherJob {
  step: Step;
  chunkCount: number;
  /** Inputs by artifact name, one Source per chunk in chunk order. */
  inputs: Record<string, Source[]>;
  /**
   * Call once the deliverable file is complete, before reporting it done: with signed provenance
   * on, the owner's attestation (`<file>.intoto.jsonl`) is signed and written beside it, committing
   * to the tools this gather ran so far; a no-op when provenance is off.
   */
  attest(file: string): Promise<void>;
}

export type ChunkHandler = (job: ChunkJob) => Promise<unknown>;
export type GatherHandler = (job: GatherJob) => Promise<unknown>;

/**
 * A job whose every chunk depends on the whole programme (programme loudness: one gain for the
 * film), kept streaming-friendly: `analyse` runs on each chunk as it arrives and returns a small
 * summary; summaries are folded with `combine` (so memory is the summary's size, not the film's);
 * once every chunk is analysed, `render` runs on each chunk with the programme's summary and
 * writes its outputs. Analyses and renders share the agent's job queue with everything else.
 */
export interface ProgrammeHandler<A = unknown> {
  analyse(job: Omit<ChunkJob, 'outputs'>): Promise<A>;
  combine(a: A, b: A): A;
  render(job: ChunkJob, programme: A): Promise<unknown>;
}

/** One job's handler, as a job module returns it (apps/<app>/src/jobs/<job>.ts): a chunk handler;
 * a gather for a sink step; a programme handler for a job over the whole programme. */
export type JobHandler = ChunkHandler | { gather: GatherHandler } | { programme: ProgrammeHandler<unknown> };

/** Handlers by job name (the `job` field of a workflow step). A sink step takes a GatherHandler. */
export type StepHandlers = Record<string, JobHandler>;

/** A programme step's entry in StepHandlers, typed by its summary. */
export function programmeStep<A>(handler: ProgrammeHandler<A>): { programme: ProgrammeHandler<unknown> } {
  return { programme: handler as unknown as ProgrammeHandler<unknown> };
}

export interface PeerResolver {
  /** headers: what the way out needs besides (the pod's token for its outbound proxy). */
  (agent: string): { baseUrl: string; hostHeader?: string; headers?: Record<string, string> };
}

export interface AgentRuntimeOptions {
  agent: string;
  workflow: Workflow;
  store: ObjectStore;
  handlers: StepHandlers;
  resolvePeer: PeerResolver;
  concurrency: number;
  logger: Logger;
  /** Retry policy for handoffs to next hops. */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Signed provenance: verify every chunk received, sign every output (off only in the security-off baseline). */
  provenance?: ChunkProvenance;
  /** Tamper-evident log of every handoff sent, received or refused. */
  audit?: AuditTrail;
  /** How long an outage (KMS, ledger, a peer, a full disk) is waited out before the work fails (ms, default 300 s). */
  outageDeadlineMs?: number;
  /**
   * The sink's watchdog: when no chunk has come in for this long, the chunks still missing are
   * re-dispatched from the source step's stored outputs (ms, default 120 s; 0 turns it off).
   */
  redispatchAfterMs?: number;
}

/** What resume() found in the volume and took up again. */
export interface ResumeSummary {
  /** Chunks received before the restart (slot records found). */
  chunksFound: number;
  /** Step chunks whose outputs every next hop had acknowledged: not run again. */
  done: number;
  /** Step chunks whose outputs were stored but not acknowledged: re-sent, never re-made. */
  resent: number;
  /** Step chunks whose inputs were all in but whose job had not finished: run again. */
  rescheduled: number;
  /** The sink had already assembled the deliverable. */
  gathered: boolean;
}

const pad = (n: number) => String(n).padStart(5, '0');
const chunkId = (step: string, chunkIndex: number) => `${step}#${chunkIndex}`;

/**
 * A received chunk as the runtime holds it until its job is done: where it is and what it is,
 * without its manifest (the provenance chain in it, kilobytes a chunk, stays in the volume).
 */
type HeldChunk = Pick<ReceivedChunk, 'step' | 'artifact' | 'chunkIndex' | 'chunkCount' | 'key'>;

/** The failures status() reports (the latest); older ones are in the log. */
const FAILURES_KEPT = 20;

/**
 * Drives one agent: collects received chunks per step, runs a step's job once all its inputs
 * for a chunk are in (or, for a sink, once every chunk is in), stores outputs and hands them
 * to the next hops. Jobs run through one bounded queue, so chunks pipeline across agents
 * while each agent stays within its concurrency.
 */
export class AgentRuntime {
  readonly graph;
  readonly queue: JobQueue;
  readonly stats = new StepStats();
  /**
   * Chunks received and not yet done with, per step: a step's chunk leaves once its outputs are
   * acknowledged (re-sends read them from the volume), the sink's once the deliverable is made.
   * So what is held is the work in progress, not the run (see bookkeeping()).
   */
  private readonly arrived = new Map<string, Map<number, Map<string, HeldChunk>>>();
  private readonly gathered = new Set<string>();
  /** (step, chunk) pairs scheduled and not yet acknowledged: a chunk handed over twice runs once
   * (a chunk re-sent after that is a duplicate by its slot record in the volume, and acknowledged). */
  private readonly scheduled = new Set<string>();
  /** Programme steps: the folded analyses and which chunks they cover. */
  private readonly programmes = new Map<string, { analysed: ChunkSet; summary?: unknown; rendering: boolean }>();
  private readonly failures: Array<{ step: string; chunkIndex?: number; message: string; at: string }> = [];
  private readonly slots: SlotIndex;
  private readonly jobState: JobStateStore;
  /** Step chunks whose outputs every next hop acknowledged (from this run or found at resume): a bit a chunk. */
  private readonly acknowledged = new ChunkSet();
  /** Outputs stored before a restart and not known to be acknowledged: re-sent, never re-made. */
  private readonly unsent = new Map<string, OutputsRecord>();
  /** Deliveries in progress: a nudge never starts a second one of the same chunk. */
  private readonly delivering = new Set<string>();
  /** A sink that had gathered before a restart: its chunk count (progress reports it). */
  private readonly gatheredBefore = new Map<string, number>();
  private readonly sinkStep: Step | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private state: 'starting' | 'resuming' | 'ready' = 'starting';
  private resumeSummary: ResumeSummary | undefined;
  private redispatched = 0;
  private readonly draining = new AbortController();

  constructor(private readonly options: AgentRuntimeOptions) {
    this.graph = buildGraph(options.workflow);
    this.queue = new JobQueue(options.concurrency);
    this.slots = new SlotIndex(options.store);
    this.jobState = new JobStateStore(options.store, options.workflow.metadata.id);
    this.sinkStep = this.graph.stepsOf(options.agent).find((s) => s.sink);
    for (const step of this.graph.stepsOf(options.agent)) {
      const handler = options.handlers[step.job];
      if (!handler) throw new Error(`agent ${options.agent} has no handler for job "${step.job}" (step ${step.name})`);
      if (Boolean(step.sink) !== 'gather' in (handler as object)) {
        throw new Error(`step ${step.name}: ${step.sink ? 'a sink needs a gather handler' : 'only a sink takes a gather handler'}`);
      }
      this.stats.declare(step.name);
    }
  }

  get workflowId(): string {
    return this.options.workflow.metadata.id;
  }

  /** Does this agent have `step` with an input named `artifact`? (the handoff router asks) */
  accepts(step: string, artifact: string): boolean {
    const s = this.graph.step(step);
    if (!s || s.agent !== this.options.agent) return false;
    return this.graph.inputsOf(step).some((e: Edge) => e.artifact === artifact);
  }

  /** Ready once resume() has taken up what the volume holds (GET /ready; new chunks wait until then). */
  get ready(): boolean {
    return this.state === 'ready';
  }

  /** A chunk arrived through the handoff router (already verified and stored). */
  onReceived(chunk: ReceivedChunk): void {
    const step = this.graph.step(chunk.step);
    if (!step) return;
    const handoff = { step: chunk.step, artifact: chunk.artifact, chunk: chunk.chunkIndex, sha256: chunk.sha256, from: chunk.manifest.producer.agent };
    try {
      // Refused here (422), the router undoes the store: nothing downstream ever sees the chunk.
      this.options.provenance?.accept(chunk);
    } catch (error) {
      this.options.audit?.record({ type: 'handoff-refused', ...handoff, reason: (error as Error).message });
      throw error;
    }
    this.options.audit?.record(receivedEvent(chunk));
    this.stats.received(step.name);
    this.take(step, chunk);
  }

  /**
   * A chunk this agent already holds was sent again (a restarted sender, or the owner
   * re-dispatching a chunk missing at the sink). Taken as a nudge: a job that failed is run again;
   * outputs already acknowledged are re-sent, so the nudge travels down to the hop that needs it.
   */
  onDuplicate(slot: ChunkSlot): void {
    const step = this.graph.step(slot.step);
    if (!step || step.sink || !this.ready) return;
    const id = chunkId(step.name, slot.chunkIndex);
    if (this.acknowledged.has(step.name, slot.chunkIndex)) {
      void this.redeliver(step, slot.chunkIndex).catch((error: Error) => this.options.logger.warn({ err: error, step: step.name, chunk: slot.chunkIndex }, 're-send on nudge failed'));
      return;
    }
    const inputs = this.arrived.get(step.name)?.get(slot.chunkIndex);
    if (!inputs || this.scheduled.has(id) || this.programmeHandler(step)) return;
    const count = [...inputs.values()][0]?.chunkCount ?? 0;
    if (this.once(step.name, slot.chunkIndex)) {
      this.options.logger.info({ step: step.name, chunk: slot.chunkIndex }, 'nudged: running the chunk again');
      void this.schedule(step.name, slot.chunkIndex, () => this.runChunk(step, slot.chunkIndex, count, inputs)).catch(() => undefined);
    }
  }

  /** File a verified chunk under its step and start whatever now has all its inputs. */
  private take(step: Step, chunk: ReceivedChunk): void {
    const byChunk = this.arrived.get(step.name) ?? new Map<number, Map<string, HeldChunk>>();
    this.arrived.set(step.name, byChunk);
    const slot = byChunk.get(chunk.chunkIndex) ?? new Map<string, HeldChunk>();
    byChunk.set(chunk.chunkIndex, slot);
    const { artifact, chunkIndex, chunkCount, key } = chunk;
    slot.set(chunk.artifact, { step: chunk.step, artifact, chunkIndex, chunkCount, key });
    const needed = this.graph.inputsOf(step.name).map((e: Edge) => e.artifact);
    if (step.sink) {
      const complete =
        byChunk.size === chunk.chunkCount &&
        [...byChunk.values()].every((s) => needed.every((a: string) => s.has(a)));
      if (complete && !this.gathered.has(step.name)) {
        this.gathered.add(step.name);
        this.stopWatchdog();
        void this.schedule(step.name, undefined, () => this.runGather(step, chunk.chunkCount, byChunk)).catch(() => this.gathered.delete(step.name));
      }
    } else if (needed.every((a: string) => slot.has(a)) && this.once(step.name, chunk.chunkIndex)) {
      // A failure is recorded in status().failures; the agent itself stays up.
      if (this.programmeHandler(step)) void this.analyse(step, chunk.chunkIndex, chunk.chunkCount, slot).catch(() => undefined);
      else void this.schedule(step.name, chunk.chunkIndex, () => this.runChunk(step, chunk.chunkIndex, chunk.chunkCount, slot)).catch(() => undefined);
    }
  }

  /**
   * Take up what the volume holds after a (re)start: every received chunk (its slot record and
   * manifest, its provenance chain verified again), every job's outputs record and every
   * acknowledgement. Finished work is counted, not redone; stored outputs are re-sent; jobs whose
   * inputs are in run again. Every receipt and send is reported to the ledger again under its
   * stable id (the ledger keeps one of each), so an event lost with the process is not lost.
   * Anything that does not read back is a ResumeError naming the object: nothing is deleted.
   */
  async resume(appState?: (summary: ResumeSummary) => Promise<void>): Promise<ResumeSummary> {
    this.state = 'resuming';
    // The KMS may be restarting too: reading the volume back waits that out like any other work.
    const summary = await waitOutOutages('taking up the volume', () => this.takeUpVolume(), this.outagePolicy(), this.options.logger);
    // The app's own state (the owner's run: its master's format) before any job of it can start.
    await appState?.(summary);
    this.resumeSummary = summary;
    this.state = 'ready';
    for (const take of this.pendingTakes.splice(0)) take();
    if (summary.chunksFound + summary.done > 0) this.options.logger.info({ resume: summary }, 'resumed from the volume');
    return summary;
  }

  /** Chunks found at resume, taken up once it is complete. */
  private readonly pendingTakes: Array<() => void> = [];

  /** One pass over the volume (repeatable: it only adds what it finds). */
  private async takeUpVolume(): Promise<ResumeSummary> {
    const summary: ResumeSummary = { chunksFound: 0, done: 0, resent: 0, rescheduled: 0, gathered: false };
    const taken: Array<() => void> = [];
    const restored = new Map<string, number>();
    for (const step of this.graph.stepsOf(this.options.agent)) {
      const context = this.context(step.name);
      const jobs = await this.jobState.load(step.name, context);
      for (const chunkIndex of jobs.sent) this.acknowledged.add(step.name, chunkIndex);
      for (const [chunkIndex, record] of jobs.outputs) {
        if (jobs.sent.has(chunkIndex)) {
          for (const edge of this.graph.outputsOf(step.name)) this.options.audit?.record(this.sentEvent(step, edge, chunkIndex, record.outputs[edge.artifact]));
        } else this.unsent.set(chunkId(step.name, chunkIndex), record);
      }
      if (jobs.gathered) {
        this.gathered.add(step.name);
        this.gatheredBefore.set(step.name, jobs.gathered.chunkCount);
        summary.gathered = true;
      }
      const chunks = await this.storedChunks(step);
      summary.chunksFound += chunks.length;
      for (const chunk of chunks) this.options.audit?.record(receivedEvent(chunk));
      const acked = new Set([...jobs.sent]);
      summary.done += acked.size;
      restored.set(step.name, acked.size);
      if (step.source || (step.sink && jobs.gathered)) continue;
      // A programme step needs every chunk's analysis for any render: all of them, unless all are done.
      const programme = Boolean(this.programmeHandler(step));
      const pending = chunks.filter((c) => !acked.has(c.chunkIndex));
      const takeUp = programme && pending.length > 0 ? chunks : pending;
      for (const chunk of takeUp) {
        try {
          this.options.provenance?.accept(chunk);
        } catch (error) {
          throw new ResumeError(chunk.key, `its provenance no longer verifies: ${(error as Error).message}`, { cause: error });
        }
        taken.push(() => this.take(step, chunk));
      }
      if (!step.sink) {
        const open = new Set(pending.map((c) => c.chunkIndex));
        for (const chunkIndex of open) if (!this.unsent.has(chunkId(step.name, chunkIndex))) summary.rescheduled += 1;
      }
    }
    summary.resent = this.unsent.size;
    for (const [step, n] of restored) this.stats.restore(step, n);
    this.pendingTakes.splice(0, this.pendingTakes.length, ...taken);
    return summary;
  }

  /** The chunks a step received before this process started, from its slot records. */
  private async storedChunks(step: Step): Promise<ReceivedChunk[]> {
    const context = this.context(step.name);
    const chunks: ReceivedChunk[] = [];
    for (const key of await this.slots.list(this.workflowId, step.name)) {
      const slot = slotOfRecordKey(key);
      if (!slot || slot.workflowId !== this.workflowId || slot.step !== step.name) throw new ResumeError(key, 'not a slot record of this step');
      const record = await this.slots.readKey(key, context).catch((error: unknown) => {
        throw refusal(key, error);
      });
      if (!record.manifest) throw new ResumeError(key, 'it keeps no manifest (written by an older version): run the workflow afresh');
      if (!(await this.options.store.exists(record.key))) throw new ResumeError(key, `the chunk it names (${record.key}) is missing from the volume`);
      chunks.push({ ...slot, chunkCount: record.chunkCount, key: record.key, sha256: record.sha256, byteLength: record.byteLength, manifest: record.manifest });
    }
    return chunks;
  }

  /** Start a source step's job for one chunk (the owner's split). */
  produce(stepName: string, chunkIndex: number, chunkCount: number): Promise<void> {
    const step = this.graph.step(stepName);
    if (!step || step.agent !== this.options.agent || !step.source) throw new Error(`${stepName} is not a source step of ${this.options.agent}`);
    this.startWatchdog(step, chunkCount);
    // Split (and acknowledged) before a restart: counted at resume, never split again.
    if (this.acknowledged.has(step.name, chunkIndex) || !this.once(step.name, chunkIndex)) return Promise.resolve();
    return this.schedule(step.name, chunkIndex, () => this.runChunk(step, chunkIndex, chunkCount, new Map()));
  }

  /** Chunks of `step` whose outputs this agent has made (acknowledged, or stored and being re-sent). */
  outputsMade(step: string): number {
    let n = this.acknowledged.count(step);
    for (const id of this.unsent.keys()) if (id.startsWith(`${step}#`)) n++;
    return n;
  }

  /**
   * What this process holds per chunk, for the memory bound (its spec): chunks received and not
   * done with, scheduled ids, received chains' digests, and the bytes of the acknowledged bits.
   * Once every chunk is handed on and acknowledged (and the sink has gathered) the counts are 0,
   * however long the run.
   */
  bookkeeping(): { held: number; scheduled: number; unsent: number; provenanceHeld: number; acknowledgedBytes: number } {
    let held = 0;
    for (const byChunk of this.arrived.values()) held += byChunk.size;
    return {
      held,
      scheduled: this.scheduled.size,
      unsent: this.unsent.size,
      provenanceHeld: this.options.provenance?.held ?? 0,
      acknowledgedBytes: this.acknowledged.byteLength,
    };
  }

  /** Has the sink `step` assembled the deliverable (in this process or before a restart)? */
  hasGathered(step: string): boolean {
    return this.gatheredBefore.has(step);
  }

  /**
   * The owner's watchdog: while the sink is missing chunks and nothing has moved for
   * redispatchAfterMs, re-send the source's stored outputs of the missing ones. Each hop that
   * holds a chunk already answers `duplicate` and passes the nudge on (onDuplicate); a hop that
   * lost it (a new volume) takes it as new.
   *
   * "Nothing has moved" is no new source chunk handed on and no new input at the sink, not "no
   * chunk complete at the sink": a sink whose other input comes from a programme step (the
   * loudness pass, which renders only once it has analysed every chunk) completes no chunk for
   * most of a long film while pictures keep arriving. Counting complete chunks re-sent every chunk
   * in flight down the whole chain every two minutes (3 handoffs in 4 were such duplicates in a
   * 600 s film's secure run).
   */
  private startWatchdog(source: Step, chunkCount: number): void {
    const every = this.options.redispatchAfterMs ?? 120_000;
    const sink = this.sinkStep;
    if (this.watchdog || !sink || every <= 0 || this.gathered.has(sink.name)) return;
    let last = '';
    this.watchdog = setInterval(() => {
      const moved = this.movement(source, sink);
      if (moved === last) void this.redispatch(source, sink, chunkCount);
      last = moved;
    }, every);
    this.watchdog.unref();
  }

  /** What the watchdog compares: source chunks handed on, inputs arrived at the sink, chunks complete there. */
  private movement(source: Step, sink: Step): string {
    let inputs = 0;
    for (const slot of this.arrived.get(sink.name)?.values() ?? []) inputs += slot.size;
    return `${this.acknowledged.count(source.name)}/${inputs}/${this.chunksDone()[sink.name] ?? 0}`;
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private async redispatch(source: Step, sink: Step, chunkCount: number): Promise<void> {
    const needed = this.graph.inputsOf(sink.name).map((e: Edge) => e.artifact);
    const byChunk = this.arrived.get(sink.name);
    const missing = Array.from({ length: chunkCount }, (_, i) => i).filter((i) => !needed.every((a: string) => byChunk?.get(i)?.has(a)));
    const sendable = missing.filter((i) => this.acknowledged.has(source.name, i));
    if (sendable.length === 0) return;
    this.options.logger.warn({ missing, redispatching: sendable }, 'chunks missing at the sink: re-dispatching them');
    for (const chunkIndex of sendable) {
      this.redispatched += 1;
      await this.redeliver(source, chunkIndex).catch((error: Error) => this.options.logger.warn({ err: error, chunk: chunkIndex }, 're-dispatch failed'));
    }
  }

  /** Re-send a chunk's acknowledged outputs from the volume (receivers answer duplicate). */
  private async redeliver(step: Step, chunkIndex: number): Promise<void> {
    const record = await this.jobState.readOutputs(step.name, chunkIndex, this.context(step.name));
    if (record) await this.deliver(step, record);
  }

  private programmeHandler(step: Step): ProgrammeHandler<unknown> | undefined {
    const handler = this.options.handlers[step.job];
    return handler && 'programme' in handler ? handler.programme : undefined;
  }

  /** Pass 1 of a programme step on one chunk; the last analysis starts every chunk's render. */
  private async analyse(step: Step, chunkIndex: number, chunkCount: number, slot: Map<string, HeldChunk>): Promise<void> {
    const handler = this.programmeHandler(step)!;
    const state = this.programmes.get(step.name) ?? { analysed: new ChunkSet(), rendering: false };
    this.programmes.set(step.name, state);
    const inputs = Object.fromEntries([...slot].map(([artifact, chunk]) => [artifact, this.source(chunk)]));
    await this.schedule(`${step.name}:analyse`, chunkIndex, async () => {
      const summary = await handler.analyse({ step, chunkIndex, chunkCount, inputs });
      state.summary = state.summary === undefined ? summary : handler.combine(state.summary, summary);
      state.analysed.add(step.name, chunkIndex);
    });
    if (state.analysed.count(step.name) < chunkCount || state.rendering) return;
    state.rendering = true;
    const byChunk = this.arrived.get(step.name)!;
    for (let i = 0; i < chunkCount; i++) {
      // Rendered and acknowledged before a restart: its analysis only fed the summary.
      if (this.acknowledged.has(step.name, i)) {
        this.release(step, i);
        continue;
      }
      const inputsOf = byChunk.get(i)!;
      void this.schedule(step.name, i, () => this.runChunk(step, i, chunkCount, inputsOf, state.summary)).catch(() => undefined);
    }
  }

  private once(step: string, chunkIndex: number): boolean {
    const id = `${step}#${chunkIndex}`;
    if (this.scheduled.has(id)) return false;
    this.scheduled.add(id);
    return true;
  }

  /** Chunks a step is done with: completed jobs, or for a sink the chunks whose inputs are all in. */
  private chunksDone(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const step of this.graph.stepsOf(this.options.agent)) {
      if (!step.sink) continue;
      const before = this.gatheredBefore.get(step.name);
      if (before !== undefined) {
        out[step.name] = before;
        continue;
      }
      const needed = this.graph.inputsOf(step.name).map((e: Edge) => e.artifact);
      const byChunk = this.arrived.get(step.name);
      out[step.name] = byChunk ? [...byChunk.values()].filter((s) => needed.every((a: string) => s.has(a))).length : 0;
    }
    return out;
  }

  status() {
    const gathered = this.chunksDone();
    return {
      /** Per step: chunks finished (a sink counts chunks gathered; `done` once it has run). */
      progress: Object.fromEntries(
        Object.entries(this.stats.snapshot()).map(([step, s]) => [step, step in gathered ? gathered[step] : s.completed]),
      ),
      agent: this.options.agent,
      workflowId: this.workflowId,
      active: this.queue.active,
      queued: this.queue.pending,
      steps: this.stats.snapshot(),
      failures: [...this.failures],
      ready: this.ready,
      /** What this process took up from its volume at start (absent before resume). */
      resume: this.resumeSummary,
      redispatched: this.redispatched,
    };
  }

  /** Stop taking chunks and wait for every job in flight (and its handoffs) to finish. */
  async drain(): Promise<void> {
    this.stopWatchdog();
    // Jobs in flight finish (their outputs get recorded); outages are no longer waited out: what
    // could not be handed on is in the volume, and the next start re-sends it.
    this.draining.abort();
    this.queue.close();
    await this.queue.drain();
    await this.options.audit?.close();
  }

  private schedule(step: string, chunkIndex: number | undefined, job: () => Promise<void>): Promise<void> {
    const log = this.options.logger.child({ step, chunk: chunkIndex });
    return this.queue
      .run(async () => {
        const started = this.stats.start(step);
        try {
          await job();
          this.stats.complete(step, started);
          log.info('step done');
        } catch (error) {
          this.stats.fail(step, started);
          throw error;
        }
      })
      .catch((error: Error) => {
        // A nudge (onDuplicate, the owner's re-dispatch) may run the chunk again later.
        if (chunkIndex !== undefined) this.scheduled.delete(chunkId(step, chunkIndex));
        this.failures.push({ step, chunkIndex, message: error.message, at: new Date().toISOString() });
        if (this.failures.length > FAILURES_KEPT) this.failures.shift();
        log.error({ err: error }, 'step failed');
        throw error;
      });
  }

  private context(step: string, recipients?: string[]): ObjectContext {
    return { workflowId: this.workflowId, step, agent: this.options.agent, ...(recipients ? { recipients } : {}) };
  }

  private source(chunk: HeldChunk): Source {
    return () => this.options.store.createReadStream(chunk.key, this.context(chunk.step));
  }

  private outagePolicy() {
    return { deadlineMs: this.options.outageDeadlineMs ?? DEFAULT_OUTAGE_DEADLINE_MS, signal: this.draining.signal };
  }

  /** One step, one chunk: outputs made once (and recorded before anything leaves), then delivered. */
  private async runChunk(step: Step, chunkIndex: number, chunkCount: number, inputs: Map<string, HeldChunk>, programme?: unknown): Promise<void> {
    const id = chunkId(step.name, chunkIndex);
    if (this.acknowledged.has(step.name, chunkIndex)) return this.release(step, chunkIndex);
    const stored = this.unsent.get(id);
    const record = stored ?? (await waitOutOutages(`${step.name} chunk ${chunkIndex}`, () => this.makeOutputs(step, chunkIndex, chunkCount, inputs, programme), this.outagePolicy(), this.options.logger));
    await this.deliver(step, record);
  }

  /** Run the job, commit its outputs, sign them, and record them in the volume (not yet sent). */
  private async makeOutputs(step: Step, chunkIndex: number, chunkCount: number, inputs: Map<string, HeldChunk>, programme?: unknown): Promise<OutputsRecord> {
    const outEdges = this.graph.outputsOf(step.name) as Edge[];
    const artifacts = [...new Set(outEdges.map((e) => e.artifact))];
    const writers = new Map<string, ObjectWriter>();
    try {
      for (const artifact of artifacts) {
        const key = `${this.workflowId}/${step.name}/out/${artifact}/${pad(chunkIndex)}.mkv`;
        writers.set(artifact, await this.options.store.createWriter(key, this.context(step.name, this.recipientsOf(step, artifact))));
      }
      const programmeHandler = this.programmeHandler(step);
      const handler: ChunkHandler = programmeHandler ? (job) => programmeHandler.render(job, programme) : (this.options.handlers[step.job] as ChunkHandler);
      // The trace collects what the job really ran (tool versions, arguments, LUT digest): the
      // provenance record commits to it (for a programme step, the render: its gain is in the arguments).
      const { parameters } = await traceJob(() =>
        handler({
          step,
          chunkIndex,
          chunkCount,
          inputs: Object.fromEntries([...inputs].map(([artifact, chunk]) => [artifact, this.source(chunk)])),
          outputs: Object.fromEntries([...writers].map(([artifact, w]) => [artifact, w.stream])),
        }),
      );
      const outputs: Record<string, StoredOutput> = {};
      for (const [artifact, writer] of writers) {
        const object = await writer.commit();
        outputs[artifact] = { key: object.key, sha256: object.sha256, byteLength: object.byteLength };
      }
      const jobParameters = { job: step.job, ...parameters };
      const chains = await this.options.provenance?.sign(
        step,
        Object.entries(outputs).map(([artifact, output]) => ({ artifact, sha256: output.sha256 })),
        { chunkIndex, chunkCount, parameters: jobParameters },
      );
      for (const [artifact, output] of Object.entries(outputs)) if (chains?.[artifact]) output.records = chains[artifact];
      const record: OutputsRecord = { version: 1, step: step.name, chunkIndex, chunkCount, outputs, committedAt: new Date().toISOString() };
      // Recorded before the first byte leaves: from here on these bytes are re-sent, never re-made.
      await this.jobState.writeOutputs(record, this.context(step.name));
      return record;
    } catch (error) {
      await Promise.all([...writers.values()].map((w) => w.abort(error)));
      throw error;
    }
  }

  /** Hand a chunk's outputs to every next hop, waiting out outages; then record the acknowledgement. */
  private async deliver(step: Step, record: OutputsRecord): Promise<void> {
    const id = chunkId(step.name, record.chunkIndex);
    if (this.delivering.has(id)) return;
    this.delivering.add(id);
    try {
      const outEdges = this.graph.outputsOf(step.name) as Edge[];
      await Promise.all(
        outEdges.map((edge) => {
          const output = record.outputs[edge.artifact];
          if (!output) throw new ResumeError(`job-state of ${step.name} chunk ${record.chunkIndex}`, `no output ${edge.artifact} for ${edge.to}`);
          return waitOutOutages(
            `handoff of ${step.name} chunk ${record.chunkIndex} to ${edge.to}`,
            () => this.handOff(step, edge, record.chunkIndex, record.chunkCount, output),
            this.outagePolicy(),
            this.options.logger,
          );
        }),
      );
      const sent = { version: 1 as const, step: step.name, chunkIndex: record.chunkIndex, to: outEdges.map((e) => e.to), sentAt: new Date().toISOString() };
      await waitOutOutages(`acknowledgement of ${step.name} chunk ${record.chunkIndex}`, () => this.jobState.writeSent(sent, this.context(step.name)), this.outagePolicy(), this.options.logger);
      this.acknowledged.add(step.name, record.chunkIndex);
      this.unsent.delete(id);
      this.release(step, record.chunkIndex);
    } finally {
      this.delivering.delete(id);
    }
  }

  /**
   * A step's chunk is done with (its outputs acknowledged): nothing of it stays in memory but its
   * acknowledged bit. A nudge or a re-dispatch re-sends from the volume; an input handed over
   * again is a duplicate by its slot record in the volume; a programme's summary is already made.
   */
  private release(step: Step, chunkIndex: number): void {
    this.scheduled.delete(chunkId(step.name, chunkIndex));
    this.arrived.get(step.name)?.delete(chunkIndex);
    this.options.provenance?.forget(step, chunkIndex);
  }

  /** Agents the output `artifact` of `step` goes to (they may open it: the sealed store's recipients). */
  private recipientsOf(step: Step, artifact: string): string[] {
    return this.graph.outputsOf(step.name).filter((e: Edge) => e.artifact === artifact).map((e: Edge) => this.graph.step(e.to)!.agent);
  }

  private sentEvent(step: Step, edge: Edge, chunkIndex: number, output: { sha256: string }) {
    const to = this.graph.step(edge.to)!.agent;
    return { type: 'handoff-sent', id: `sent/${step.name}/${edge.to}/${edge.artifact}/${chunkIndex}/${output.sha256}`, to, step: edge.to, artifact: edge.artifact, chunk: chunkIndex, sha256: output.sha256 };
  }

  private async handOff(step: Step, edge: Edge, chunkIndex: number, chunkCount: number, output: StoredOutput): Promise<void> {
    const destination = this.graph.step(edge.to)!.agent;
    const peer = this.options.resolvePeer(destination);
    const recipients = this.recipientsOf(step, edge.artifact);
    await sendChunk({
      baseUrl: peer.baseUrl,
      hostHeader: peer.hostHeader,
      headers: peer.headers,
      manifest: {
        version: 1,
        workflowId: this.workflowId,
        step: edge.to,
        artifact: edge.artifact,
        chunkIndex,
        chunkCount,
        sha256: output.sha256,
        byteLength: output.byteLength,
        media: { container: 'matroska' },
        producer: { agent: this.options.agent, step: step.name },
        ...(output.records ? { provenance: { records: output.records } } : {}),
      },
      open: () => this.options.store.createReadStream(output.key, this.context(step.name, recipients)),
      retry: this.options.retry,
    });
    this.options.audit?.record(this.sentEvent(step, edge, chunkIndex, output));
  }

  private async runGather(step: Step, chunkCount: number, byChunk: Map<number, Map<string, HeldChunk>>): Promise<void> {
    const artifacts = this.graph.inputsOf(step.name).map((e: Edge) => e.artifact);
    const inputs: Record<string, Source[]> = {};
    for (const artifact of artifacts) {
      inputs[artifact] = Array.from({ length: chunkCount }, (_, i) => this.source(byChunk.get(i)!.get(artifact)!));
    }
    // Nothing is assembled unless every chunk's full chain leads back to our own originals (read
    // back from the volume chunk by chunk: the KMS may be out for a moment).
    const provenance = this.options.provenance;
    if (provenance) await waitOutOutages(`${step.name} (provenance)`, () => provenance.verifyGather(step, chunkCount), this.outagePolicy(), this.options.logger);
    const handler = this.options.handlers[step.job] as { gather: GatherHandler };
    const gather = () => traceJob(() =>
      handler.gather({
        step,
        chunkCount,
        inputs,
        attest: async (file) => {
          const attested = await provenance?.attestDeliverable(step, file, { job: step.job, ...currentTrace() });
          // The owner's ledger records which file it attested, beside every handoff of the run.
          if (attested) {
            this.options.audit?.record({
              type: 'deliverable-attested',
              id: `attested/${step.name}/${attested.sha256}`,
              step: step.name,
              file: basename(file),
              sha256: attested.sha256,
              bytes: attested.bytes,
              chunks: attested.chunkCount,
              attestation: basename(attested.path),
            });
          }
        },
      }),
    );
    await waitOutOutages(`${step.name} (gather)`, gather, this.outagePolicy(), this.options.logger);
    // Recorded last: a restart before this assembles again (the same chunks, the same file).
    await this.jobState.writeGathered({ version: 1, step: step.name, chunkCount, gatheredAt: new Date().toISOString() }, this.context(step.name));
    this.gatheredBefore.set(step.name, chunkCount);
    // Assembled: the chunks' whereabouts and digests are no longer needed (progress counts gatheredBefore).
    this.arrived.delete(step.name);
    for (let i = 0; i < chunkCount; i++) provenance?.forget(step, i);
  }
}

/** The ledger's record of a receipt, under an id stable across restarts (the ledger keeps one). */
function receivedEvent(chunk: ReceivedChunk) {
  return {
    type: 'handoff-received',
    id: `received/${chunk.step}/${chunk.artifact}/${chunk.chunkIndex}/${chunk.sha256}`,
    step: chunk.step,
    artifact: chunk.artifact,
    chunk: chunk.chunkIndex,
    sha256: chunk.sha256,
    from: chunk.manifest.producer.agent,
  };
}
