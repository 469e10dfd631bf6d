import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { buildGraph, type Edge, type Step, type Workflow } from '@reelmesh/workflow';
import { sendChunk, type ReceivedChunk } from '@reelmesh/handoff';
import { currentTrace, traceJob } from '@reelmesh/media';
import type { ProvenanceRecord } from '@reelmesh/provenance';
import type { ObjectContext, ObjectStore, ObjectWriter } from '@reelmesh/storage';
import type { AuditTrail } from './audit-trail';
import type { ChunkProvenance } from './chunk-provenance';
import { JobQueue } from './job-queue';
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

/** Handlers by job name (the `job` field of a workflow step). A sink step takes a GatherHandler. */
export type StepHandlers = Record<string, ChunkHandler | { gather: GatherHandler } | { programme: ProgrammeHandler<unknown> }>;

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
}

const pad = (n: number) => String(n).padStart(5, '0');

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
  private readonly arrived = new Map<string, Map<number, Map<string, ReceivedChunk>>>();
  private readonly gathered = new Set<string>();
  /** (step, chunk) pairs already scheduled: a chunk handed over twice runs once. */
  private readonly scheduled = new Set<string>();
  /** Programme steps: the folded analyses and which chunks they cover. */
  private readonly programmes = new Map<string, { analysed: Set<number>; summary?: unknown; rendering: boolean }>();
  private readonly failures: Array<{ step: string; chunkIndex?: number; message: string; at: string }> = [];

  constructor(private readonly options: AgentRuntimeOptions) {
    this.graph = buildGraph(options.workflow);
    this.queue = new JobQueue(options.concurrency);
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
    this.options.audit?.record({ type: 'handoff-received', ...handoff });
    this.stats.received(step.name);
    const byChunk = this.arrived.get(step.name) ?? new Map<number, Map<string, ReceivedChunk>>();
    this.arrived.set(step.name, byChunk);
    const slot = byChunk.get(chunk.chunkIndex) ?? new Map<string, ReceivedChunk>();
    byChunk.set(chunk.chunkIndex, slot);
    slot.set(chunk.artifact, chunk);
    const needed = this.graph.inputsOf(step.name).map((e: Edge) => e.artifact);
    if (step.sink) {
      const complete =
        byChunk.size === chunk.chunkCount &&
        [...byChunk.values()].every((s) => needed.every((a: string) => s.has(a)));
      if (complete && !this.gathered.has(step.name)) {
        this.gathered.add(step.name);
        void this.schedule(step.name, undefined, () => this.runGather(step, chunk.chunkCount, byChunk)).catch(() => undefined);
      }
    } else if (needed.every((a: string) => slot.has(a)) && this.once(step.name, chunk.chunkIndex)) {
      // A failure is recorded in status().failures; the agent itself stays up.
      if (this.programmeHandler(step)) void this.analyse(step, chunk.chunkIndex, chunk.chunkCount, slot).catch(() => undefined);
      else void this.schedule(step.name, chunk.chunkIndex, () => this.runChunk(step, chunk.chunkIndex, chunk.chunkCount, slot)).catch(() => undefined);
    }
  }

  /** Start a source step's job for one chunk (the owner's split). */
  produce(stepName: string, chunkIndex: number, chunkCount: number): Promise<void> {
    const step = this.graph.step(stepName);
    if (!step || step.agent !== this.options.agent || !step.source) throw new Error(`${stepName} is not a source step of ${this.options.agent}`);
    if (!this.once(step.name, chunkIndex)) return Promise.resolve();
    return this.schedule(step.name, chunkIndex, () => this.runChunk(step, chunkIndex, chunkCount, new Map()));
  }

  private programmeHandler(step: Step): ProgrammeHandler<unknown> | undefined {
    const handler = this.options.handlers[step.job];
    return handler && 'programme' in handler ? handler.programme : undefined;
  }

  /** Pass 1 of a programme step on one chunk; the last analysis starts every chunk's render. */
  private async analyse(step: Step, chunkIndex: number, chunkCount: number, slot: Map<string, ReceivedChunk>): Promise<void> {
    const handler = this.programmeHandler(step)!;
    const state = this.programmes.get(step.name) ?? { analysed: new Set<number>(), rendering: false };
    this.programmes.set(step.name, state);
    const inputs = Object.fromEntries([...slot].map(([artifact, chunk]) => [artifact, this.source(chunk)]));
    await this.schedule(`${step.name}:analyse`, chunkIndex, async () => {
      const summary = await handler.analyse({ step, chunkIndex, chunkCount, inputs });
      state.summary = state.summary === undefined ? summary : handler.combine(state.summary, summary);
      state.analysed.add(chunkIndex);
    });
    if (state.analysed.size < chunkCount || state.rendering) return;
    state.rendering = true;
    const byChunk = this.arrived.get(step.name)!;
    for (let i = 0; i < chunkCount; i++) {
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
      failures: this.failures.slice(-20),
    };
  }

  /** Stop taking chunks and wait for every job in flight (and its handoffs) to finish. */
  async drain(): Promise<void> {
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
        this.failures.push({ step, chunkIndex, message: error.message, at: new Date().toISOString() });
        log.error({ err: error }, 'step failed');
        throw error;
      });
  }

  private context(step: string, recipients?: string[]): ObjectContext {
    return { workflowId: this.workflowId, step, agent: this.options.agent, ...(recipients ? { recipients } : {}) };
  }

  private source(chunk: ReceivedChunk): Source {
    return () => this.options.store.createReadStream(chunk.key, this.context(chunk.step));
  }

  private async runChunk(step: Step, chunkIndex: number, chunkCount: number, inputs: Map<string, ReceivedChunk>, programme?: unknown): Promise<void> {
    const outEdges = this.graph.outputsOf(step.name) as Edge[];
    const artifacts = [...new Set(outEdges.map((e) => e.artifact))];
    const writers = new Map<string, ObjectWriter>();
    try {
      for (const artifact of artifacts) {
        const recipients = outEdges.filter((e) => e.artifact === artifact).map((e) => this.graph.step(e.to)!.agent);
        const key = `${this.workflowId}/${step.name}/out/${artifact}/${pad(chunkIndex)}.mkv`;
        writers.set(artifact, await this.options.store.createWriter(key, this.context(step.name, recipients)));
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
      const committed = new Map<string, Awaited<ReturnType<ObjectWriter['commit']>>>();
      for (const [artifact, writer] of writers) committed.set(artifact, await writer.commit());
      const jobParameters = { job: step.job, ...parameters };
      const chains = new Map(
        [...committed].map(([artifact, object]) => [
          artifact,
          this.options.provenance?.sign(step, artifact, { chunkIndex, chunkCount, sha256: object.sha256, parameters: jobParameters }),
        ]),
      );
      await Promise.all(
        outEdges.map((edge) => {
          const object = committed.get(edge.artifact)!;
          return this.handOff(step, edge, chunkIndex, chunkCount, object, chains.get(edge.artifact));
        }),
      );
      this.options.provenance?.forget(step, chunkIndex);
    } catch (error) {
      await Promise.all([...writers.values()].map((w) => w.abort(error)));
      throw error;
    }
  }

  private async handOff(
    step: Step,
    edge: Edge,
    chunkIndex: number,
    chunkCount: number,
    object: { key: string; sha256: string; byteLength: number },
    records?: ProvenanceRecord[],
  ): Promise<void> {
    const destination = this.graph.step(edge.to)!.agent;
    const peer = this.options.resolvePeer(destination);
    const recipients = this.graph.outputsOf(step.name).filter((e: Edge) => e.artifact === edge.artifact).map((e: Edge) => this.graph.step(e.to)!.agent);
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
        sha256: object.sha256,
        byteLength: object.byteLength,
        media: { container: 'matroska' },
        producer: { agent: this.options.agent, step: step.name },
        ...(records ? { provenance: { records } } : {}),
      },
      open: () => this.options.store.createReadStream(object.key, this.context(step.name, recipients)),
      retry: this.options.retry,
    });
    this.options.audit?.record({ type: 'handoff-sent', to: destination, step: edge.to, artifact: edge.artifact, chunk: chunkIndex, sha256: object.sha256 });
  }

  private async runGather(step: Step, chunkCount: number, byChunk: Map<number, Map<string, ReceivedChunk>>): Promise<void> {
    const artifacts = this.graph.inputsOf(step.name).map((e: Edge) => e.artifact);
    const inputs: Record<string, Source[]> = {};
    for (const artifact of artifacts) {
      inputs[artifact] = Array.from({ length: chunkCount }, (_, i) => this.source(byChunk.get(i)!.get(artifact)!));
    }
    // Nothing is assembled unless every chunk's full chain leads back to our own originals.
    await this.options.provenance?.verifyGather(step, chunkCount);
    const handler = this.options.handlers[step.job] as { gather: GatherHandler };
    const provenance = this.options.provenance;
    await traceJob(() =>
      handler.gather({
        step,
        chunkCount,
        inputs,
        attest: async (file) => {
          const attested = await provenance?.attestDeliverable(step, file, { job: step.job, ...currentTrace() });
          // The owner's ledger records which file it attested, beside every handoff of the run.
          if (attested) {
            this.options.audit?.record({ type: 'deliverable-attested', step: step.name, file: basename(file), sha256: attested.sha256, bytes: attested.bytes, chunks: attested.chunkCount, attestation: basename(attested.path) });
          }
        },
      }),
    );
  }
}
