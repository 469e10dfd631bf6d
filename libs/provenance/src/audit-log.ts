import type { ObjectContext, ObjectStore } from '@reelmesh/storage';
import { canonicalJson, sha256Hex } from './canonical-json';
import { splitPem } from './certificates';
import { signEnvelope, type DsseEnvelope } from './dsse';
import { readJsonObject, writeJsonObject } from './object-io';
import type { Signer } from './signer';

// A tamper-evident, append-only log: each entry commits to the previous one's hash, and every N
// entries the owner signs a checkpoint listing the entries' digests. One object per entry, written
// once, through an ObjectStore (sealed at rest when it is a SealedObjectStore).

export const GENESIS_HASH = '0'.repeat(64);
export const CHECKPOINT_PAYLOAD_TYPE = 'application/vnd.reelmesh.audit-checkpoint+json';
export const DEFAULT_CHECKPOINT_EVERY = 64;

export interface AuditEntry {
  seq: number;
  time: string;
  event: Record<string, unknown>;
  /** Hash of the previous entry (GENESIS_HASH for seq 0). */
  prev: string;
  /** sha256(canonical {prev, digest}) where digest = entryDigest(time, event). */
  hash: string;
}

export interface CheckpointStatement {
  log: string;
  index: number;
  /** First and last seq covered (inclusive). */
  from: number;
  to: number;
  /** entryDigest of every entry from..to, in order: lets a verifier say exactly which one changed. */
  digests: string[];
  /** Chain hash of entry `to`. */
  head: string;
  time: string;
}

export interface SignedCheckpoint {
  dsseEnvelope: DsseEnvelope;
  verificationMaterial: { certificateChain: string[] };
}

export function entryDigest(entry: Pick<AuditEntry, 'time' | 'event'>): string {
  return sha256Hex(canonicalJson({ time: entry.time, event: entry.event }));
}

export function chainHash(prev: string, digest: string): string {
  return sha256Hex(canonicalJson({ prev, digest }));
}

export const entryKey = (log: string, seq: number) => `audit/${log}/entries/${String(seq).padStart(12, '0')}.json`;
export const checkpointKey = (log: string, index: number) => `audit/${log}/checkpoints/${String(index).padStart(8, '0')}.json`;
export const auditContext = (workflowId: string, agent: string): ObjectContext => ({ workflowId, step: 'audit', agent });

export function seqOfKey(key: string): number | undefined {
  const m = /\/(\d{8,12})\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

export interface AuditLogOptions {
  store: ObjectStore;
  /** Log name (a safe key segment), e.g. the agent name. */
  name: string;
  workflowId: string;
  /** The agent writing the log (object context). */
  agent: string;
  /** The owner's signer for checkpoints; without it no checkpoints are written. */
  signer?: () => Signer;
  checkpointEvery?: number;
  /**
   * The longest an entry waits for a checkpoint (as a transparency log's maximum merge delay): a
   * log that grows slowly is still signed within this many ms. Off by default.
   */
  checkpointWithinMs?: number;
  now?: () => Date;
  /**
   * Called at open with every stored entry, in order (the ledger rebuilds its set of event ids
   * from it). Without it, open reads only the entries no checkpoint covers yet.
   */
  replay?: (entry: AuditEntry) => void;
}

/** What a log announces to its watchers once it is stored: an entry, or a signed checkpoint. */
export type AuditLogNews = { kind: 'entry'; entry: AuditEntry } | { kind: 'checkpoint'; statement: CheckpointStatement; signedBy: string };

export class AuditLog {
  readonly #watchers = new Set<(news: AuditLogNews) => void>();
  #lastCheckpoint: { statement: CheckpointStatement; signedBy: string } | undefined;
  #checkpointTimer: NodeJS.Timeout | undefined;
  #seq = 0;
  #head = GENESIS_HASH;
  #pending: string[] = [];
  #checkpoints = 0;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #context: ObjectContext;

  private constructor(private readonly opts: AuditLogOptions) {
    this.#context = auditContext(opts.workflowId, opts.agent);
  }

  /** Open (or resume) a log: finds the head and the entries not yet checkpointed. */
  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(opts);
    const ctx = log.#context;
    const checkpoints = (await opts.store.list(`audit/${opts.name}/checkpoints`)).map(seqOfKey).filter((n): n is number => n !== undefined);
    log.#checkpoints = checkpoints.length === 0 ? 0 : Math.max(...checkpoints) + 1;
    let coveredTo = -1;
    if (log.#checkpoints > 0) {
      const last = (await readJsonObject(opts.store, checkpointKey(opts.name, log.#checkpoints - 1), ctx)) as SignedCheckpoint;
      coveredTo = (JSON.parse(Buffer.from(last.dsseEnvelope.payload, 'base64').toString('utf8')) as CheckpointStatement).to;
    }
    const seqs = (await opts.store.list(`audit/${opts.name}/entries`))
      .map(seqOfKey)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    const read = async (seq: number) => (await readJsonObject(opts.store, entryKey(opts.name, seq), ctx)) as AuditEntry;
    let last: AuditEntry | undefined;
    for (const seq of opts.replay ? seqs : seqs.filter((s) => s > coveredTo)) {
      last = await read(seq);
      opts.replay?.(last);
      if (seq > coveredTo) log.#pending.push(entryDigest(last));
    }
    if (seqs.length > 0) {
      if (last?.seq !== seqs[seqs.length - 1]) last = await read(seqs[seqs.length - 1]);
      log.#seq = last.seq + 1;
      log.#head = last.hash;
    }
    return log;
  }

  get size(): number {
    return this.#seq;
  }

  get head(): string {
    return this.#head;
  }

  /**
   * Hear of every entry and checkpoint from now on, after it is stored (a dashboard's live view);
   * returns the function that stops it. A watcher that throws does not affect the log.
   */
  watch(watcher: (news: AuditLogNews) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** The latest checkpoint this process signed, if any. */
  get lastCheckpoint(): { statement: CheckpointStatement; signedBy: string } | undefined {
    return this.#lastCheckpoint;
  }

  #announce(news: AuditLogNews): void {
    for (const watcher of this.#watchers) {
      try {
        watcher(news);
      } catch {
        // a watcher's failure is its own
      }
    }
  }

  /** Append one event (plain JSON: it is hashed canonically); appends are serialized so the chain never forks. */
  append(event: Record<string, unknown>): Promise<AuditEntry> {
    const run = this.#tail.then(() => this.#append(event));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Sign a checkpoint over every entry not yet covered (call on shutdown). */
  checkpoint(): Promise<void> {
    const run = this.#tail.then(() => this.#checkpoint());
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #append(event: Record<string, unknown>): Promise<AuditEntry> {
    const time = (this.opts.now?.() ?? new Date()).toISOString();
    const digest = entryDigest({ time, event });
    const entry: AuditEntry = { seq: this.#seq, time, event, prev: this.#head, hash: chainHash(this.#head, digest) };
    await writeJsonObject(this.opts.store, entryKey(this.opts.name, entry.seq), this.#context, entry);
    this.#seq += 1;
    this.#head = entry.hash;
    this.#pending.push(digest);
    this.#announce({ kind: 'entry', entry });
    if (this.opts.checkpointWithinMs !== undefined && this.opts.signer && !this.#checkpointTimer) {
      // A failed checkpoint leaves the entries pending: the next append schedules another.
      this.#checkpointTimer = setTimeout(() => void this.checkpoint().catch(() => undefined), this.opts.checkpointWithinMs);
      this.#checkpointTimer.unref();
    }
    if (this.#pending.length >= (this.opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY)) await this.#checkpoint();
    return entry;
  }

  async #checkpoint(): Promise<void> {
    clearTimeout(this.#checkpointTimer);
    this.#checkpointTimer = undefined;
    if (!this.opts.signer || this.#pending.length === 0) return;
    const signer = this.opts.signer();
    const statement: CheckpointStatement = {
      log: this.opts.name,
      index: this.#checkpoints,
      from: this.#seq - this.#pending.length,
      to: this.#seq - 1,
      digests: this.#pending,
      head: this.#head,
      time: (this.opts.now?.() ?? new Date()).toISOString(),
    };
    const payload = Buffer.from(canonicalJson(statement), 'utf8');
    const signed: SignedCheckpoint = {
      dsseEnvelope: signEnvelope(CHECKPOINT_PAYLOAD_TYPE, payload, signer.key, signer.spiffeId),
      verificationMaterial: { certificateChain: splitPem(signer.chainPem) },
    };
    await writeJsonObject(this.opts.store, checkpointKey(this.opts.name, statement.index), this.#context, signed);
    this.#checkpoints += 1;
    this.#pending = [];
    this.#lastCheckpoint = { statement, signedBy: signer.spiffeId };
    this.#announce({ kind: 'checkpoint', ...this.#lastCheckpoint });
  }
}
