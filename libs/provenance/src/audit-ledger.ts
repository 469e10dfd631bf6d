import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { HttpError, readBody } from '@reelmesh/http-kit';
import type { ObjectStore } from '@reelmesh/storage';
import { AuditLog, type AuditEntry, type AuditLogNews, type CheckpointStatement } from './audit-log';
import { canonicalJson } from './canonical-json';
import type { Signer } from './signer';

// The owner's audit ledger: ONE hash-chained log per workflow run that every pod feeds — its app
// with handoffs (sent, received, refused), its policy sidecar with every decision (OPA's
// decision-log upload format). Submitters are authenticated by the caller (the control plane
// maps the pod's token to its SPIFFE id) and that identity is written into each entry, so a pod
// can only speak for itself. Entries are sealed at rest through the store; the owner's key signs
// checkpoints. See docs/audit-log.md.

export const LEDGER_LOG = 'ledger';
/** The object-context agent of the ledger's objects, and its KMS principal (owner's actor). */
export const LEDGER_AGENT = 'audit-ledger';

export type AuditComponent = 'app' | 'policy';

export interface Submitter {
  /** SPIFFE id of the pod, as authenticated by the ledger's host. */
  spiffeId: string;
  agent: string;
  component: AuditComponent;
}

/**
 * @deprecated The ledger throws `HttpError` from @reelmesh/http-kit (status, code, message), which
 * every service's error handler already answers; this alias only keeps old imports compiling.
 */
export const AuditLedgerError = HttpError;
/** @deprecated Use `HttpError` from @reelmesh/http-kit. */
export type AuditLedgerError = HttpError;

export interface AuditLedgerOptions {
  store: ObjectStore;
  workflowId: string;
  /** The owner's checkpoint signer. */
  signer: () => Signer;
  checkpointEvery?: number;
  /** See AuditLogOptions.checkpointWithinMs. */
  checkpointWithinMs?: number;
  maxBodyBytes?: number;
}

const MAX_EVENTS_PER_BATCH = 5_000;
const MAX_EVENT_BYTES = 16 * 1024;
/** What an app reports: its handoffs, and (the owner) the deliverable it attested. */
const APP_EVENT_TYPE = /^(handoff-(sent|received|refused)|deliverable-attested)$/;

/** The answer to a batch: `accepted` events appended, `duplicates` already in the ledger (not appended again). */
export interface IngestResult {
  accepted: number;
  duplicates: number;
  size: number;
  head: string;
}

export class AuditLedger {
  /** Batches one at a time: "already appended?" and the append are one step for every event. */
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly log: AuditLog,
    private readonly opts: AuditLedgerOptions,
    /** The (submitter, component, id) of every event with an id the ledger holds: see eventKey. */
    private readonly seen: Set<string>,
  ) {}

  /**
   * Opens (resumes) the ledger. To refuse events re-sent after a crash on either side, it rebuilds
   * the set of event ids from every stored entry: one read (and unseal) per entry at open, and one
   * set member per event with an id in memory for the life of the process. For a run's ledger
   * (thousands to a few hundred thousand events) that is seconds at start and tens of MB at most.
   */
  static async open(opts: AuditLedgerOptions): Promise<AuditLedger> {
    const seen = new Set<string>();
    const log = await AuditLog.open({
      store: opts.store,
      name: LEDGER_LOG,
      workflowId: opts.workflowId,
      agent: LEDGER_AGENT,
      signer: opts.signer,
      checkpointEvery: opts.checkpointEvery,
      checkpointWithinMs: opts.checkpointWithinMs,
      replay: (entry) => {
        const key = storedEventKey(entry.event);
        if (key) seen.add(key);
      },
    });
    return new AuditLedger(log, opts, seen);
  }

  get size(): number {
    return this.log.size;
  }

  get head(): string {
    return this.log.head;
  }

  /**
   * Append a batch, in order; resolves once every entry is stored (sealed). An event with an id
   * (apps: `id`; policy sidecars: `decision_id`) that this submitter's component already appended
   * is not appended again and is counted in `duplicates`: after a crash, apps and sidecars re-send
   * what they cannot know was delivered, and the ledger keeps each event once. Events without an
   * id are always appended.
   */
  async ingest(by: Submitter, events: unknown[]): Promise<IngestResult> {
    if (!Array.isArray(events)) throw new HttpError(400, 'BAD_BATCH', 'the body must be a JSON array of events');
    if (events.length > MAX_EVENTS_PER_BATCH) throw new HttpError(413, 'BATCH_TOO_LARGE', `at most ${MAX_EVENTS_PER_BATCH} events per batch`);
    // Validate the whole batch first: a bad batch appends nothing.
    const entries = events.map((event, i) => toEntryEvent(by, event, i));
    const run = this.#tail.then(() => this.#append(entries));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #append(entries: Array<{ event: Record<string, unknown>; key?: string }>): Promise<IngestResult> {
    let last: AuditEntry | undefined;
    let duplicates = 0;
    for (const { event, key } of entries) {
      if (key !== undefined && this.seen.has(key)) {
        duplicates += 1;
        continue;
      }
      // Marked seen only once stored: a failed append is retried by the shipper and must go in then.
      last = await this.log.append(event);
      if (key !== undefined) this.seen.add(key);
    }
    return { accepted: entries.length - duplicates, duplicates, size: this.log.size, head: last?.hash ?? this.log.head };
  }

  /** Read, decompress (Content-Encoding: gzip) and parse a batch from an HTTP request, then ingest it. */
  async ingestRequest(by: Submitter, req: IncomingMessage): Promise<IngestResult> {
    return this.ingest(by, await readBatch(req, this.opts.maxBodyBytes ?? 8 * 1024 * 1024));
  }

  /** Every entry and checkpoint from now on, once stored (see AuditLog.watch). */
  watch(watcher: (news: AuditLogNews) => void): () => void {
    return this.log.watch(watcher);
  }

  get lastCheckpoint(): { statement: CheckpointStatement; signedBy: string } | undefined {
    return this.log.lastCheckpoint;
  }

  /** Sign a checkpoint over whatever is not yet covered (on shutdown). */
  checkpoint(): Promise<void> {
    return this.log.checkpoint();
  }
}

/**
 * What makes a re-sent event the same event: who sent it (the authenticated SPIFFE id), which
 * component of the pod, and the id it gave. JSON of the triple, so no id can forge another key.
 */
function eventKey(spiffeId: string, component: AuditComponent, id: string): string {
  return JSON.stringify([spiffeId, component, id]);
}

/** The key of an entry already in the ledger, if its event had an id (entries from before ids have none). */
function storedEventKey(event: Record<string, unknown>): string | undefined {
  const by = event.by as Partial<Submitter> | undefined;
  if (typeof by?.spiffeId !== 'string' || (by.component !== 'app' && by.component !== 'policy')) return undefined;
  const id = by.component === 'policy' ? (event.decision as { decision_id?: unknown } | undefined)?.decision_id : event.id;
  return typeof id === 'string' ? eventKey(by.spiffeId, by.component, id) : undefined;
}

const MAX_ID_LENGTH = 256;
const isId = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= MAX_ID_LENGTH;

function toEntryEvent(by: Submitter, event: unknown, index: number): { event: Record<string, unknown>; key?: string } {
  const bad = (why: string) => new HttpError(400, 'BAD_EVENT', `event ${index}: ${why}`);
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw bad('must be a JSON object');
  // Every entry is hashed in its canonical form: an event that has none (a number too large for a
  // double, a lone surrogate) is the submitter's fault, refused here before anything is appended.
  let canonical: string;
  try {
    canonical = canonicalJson(event);
  } catch (error) {
    throw bad((error as Error).message);
  }
  if (canonical.length > MAX_EVENT_BYTES) throw bad(`larger than ${MAX_EVENT_BYTES} bytes`);
  const e = event as Record<string, unknown>;
  const source = { spiffeId: by.spiffeId, agent: by.agent, component: by.component };
  if (by.component === 'policy') {
    // An OPA decision-log event: decision_id, timestamp, path, input (summary), and result, or
    // error where evaluation failed (OPA then omits result): a refused batch is one OPA re-sends forever.
    if (typeof e.decision_id !== 'string' || typeof e.timestamp !== 'string' || typeof e.path !== 'string' || !('result' in e || 'error' in e)) {
      throw bad('a decision needs decision_id, timestamp, path and result (or error)');
    }
    // The decision id is the decision's identity in the ledger (a re-sent decision is kept once).
    if (!isId(e.decision_id)) throw bad(`decision_id must be 1 to ${MAX_ID_LENGTH} characters`);
    return { event: { type: 'decision', by: source, decision: e }, key: eventKey(by.spiffeId, by.component, e.decision_id) };
  }
  if (typeof e.type !== 'string' || !APP_EVENT_TYPE.test(e.type)) throw bad('type must be handoff-sent, handoff-received, handoff-refused or deliverable-attested');
  if ('by' in e) throw bad('"by" is set by the ledger, not the submitter');
  if ('id' in e && !isId(e.id)) throw bad(`id must be a string of 1 to ${MAX_ID_LENGTH} characters`);
  return { event: { ...e, by: source }, key: isId(e.id) ? eventKey(by.spiffeId, by.component, e.id) : undefined };
}

const inflate = promisify(gunzip);

async function readBatch(req: IncomingMessage, limit: number): Promise<unknown[]> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'gzip' && encoding !== 'identity') throw new HttpError(415, 'UNSUPPORTED_ENCODING', `content-encoding ${encoding} is not supported`);
  const what = 'audit batch';
  const wire = await readBody(req, { limit, what }).catch((error: unknown) => {
    throw error instanceof HttpError ? error : new HttpError(400, 'BAD_BATCH', `cannot read the batch: ${(error as Error).message}`);
  });
  let body = wire;
  if (encoding === 'gzip') {
    // The inflated batch has the same cap as the wire bytes: a small gzip bomb stops at `limit`.
    try {
      body = await inflate(wire, { maxOutputLength: limit });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, 'BODY_TOO_LARGE', `${what} body is larger than ${limit} bytes once decompressed`);
      throw new HttpError(400, 'BAD_BATCH', `cannot read the batch: ${(error as Error).message}`);
    }
  }
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (!Array.isArray(parsed)) throw new Error('not an array');
    return parsed;
  } catch (error) {
    throw new HttpError(400, 'BAD_BATCH', `the body must be a JSON array of events: ${(error as Error).message}`);
  }
}
