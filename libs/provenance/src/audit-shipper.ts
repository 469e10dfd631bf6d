import { gzipSync } from 'node:zlib';

// Ships audit events (handoffs, policy decisions) to the owner's audit ledger in batches, the way
// OPA's decision-log plugin uploads to its log service: a gzipped JSON array per POST, bearer
// token, retried with backoff until delivered. Nothing is dropped silently: while the ledger is
// unreachable events queue up to a bound, and past it `accepting()` turns false so the caller can
// fail closed (refuse the handoff, deny the decision) instead of acting unaudited.

export interface AuditShipperOptions {
  /** The ledger endpoint, e.g. `<control plane>/v1/audit/events` or `.../v1/audit/logs`. */
  url: string;
  /** The workload's bearer token (the pod's bootstrap token); none where the ledger knows the caller by its mesh identity. */
  token?: string;
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Events queued before accepting() turns false (fail closed). */
  maxQueued?: number;
  /** Give up on one POST after this long (it is retried). */
  requestTimeoutMs?: number;
  onError?: (error: Error) => void;
}

export interface ShipperStats {
  delivered: number;
  queued: number;
  failures: number;
  /** Events refused because the queue was full (the caller was told: accepting() was false). */
  overflowed: number;
  /** Events the ledger refused as malformed (HTTP 4xx): reported through onError, not retried. */
  rejected: number;
}

class RejectedBatch extends Error {}

const HARD_CAP_FACTOR = 2;

export class AuditShipper {
  readonly #opts: Required<Omit<AuditShipperOptions, 'onError' | 'token'>> & Pick<AuditShipperOptions, 'onError' | 'token'>;
  #queue: unknown[] = [];
  #sending: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = 0;
  #closed = false;
  /** After a refused batch, its events are resent one by one, so only the bad ones are dropped. */
  #isolate = 0;
  /** Producers of a backlog waiting for the queue to drain (see roomForBacklog). */
  #waiters: Array<() => void> = [];
  readonly #stats: ShipperStats = { delivered: 0, queued: 0, failures: 0, overflowed: 0, rejected: 0 };

  constructor(options: AuditShipperOptions) {
    this.#opts = { flushIntervalMs: 200, maxBatch: 500, maxQueued: 20_000, requestTimeoutMs: 5_000, ...options };
  }

  /** False once the ledger has been unreachable long enough for the queue to fill: fail closed. */
  accepting(): boolean {
    return this.#queue.length < this.#opts.maxQueued;
  }

  /** Queue one event; false if even the hard cap is reached (the event is refused, and counted). */
  record(event: unknown): boolean {
    if (this.#queue.length >= this.#opts.maxQueued * HARD_CAP_FACTOR) {
      this.#stats.overflowed += 1;
      return false;
    }
    this.#queue.push(event);
    if (this.#queue.length >= this.#opts.maxBatch) this.#flushSoon(0);
    else this.#flushSoon(this.#opts.flushIntervalMs);
    return true;
  }

  /**
   * Resolves once the queue is at most half full (or the shipper is closing). A producer with a
   * backlog — a policy sidecar re-sending its decision log after a restart — records only after
   * this, so the live events never find the queue full (and fail closed) because of the backlog.
   */
  roomForBacklog(): Promise<void> {
    if (this.#closed || this.#queue.length < this.#opts.maxQueued / 2) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wakeBacklog(): void {
    if (this.#closed || this.#queue.length < this.#opts.maxQueued / 2) for (const wake of this.#waiters.splice(0)) wake();
  }

  stats(): ShipperStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Deliver everything queued (retrying) for up to `timeoutMs`; resolves with what is left. */
  async close(timeoutMs = 10_000): Promise<ShipperStats> {
    this.#closed = true;
    this.#wakeBacklog();
    if (this.#timer) clearTimeout(this.#timer);
    const deadline = Date.now() + timeoutMs;
    while ((this.#queue.length > 0 || this.#sending) && Date.now() < deadline) {
      await (this.#sending ?? this.#send());
      if (this.#queue.length > 0 && this.#backoffMs > 0) await sleep(Math.min(this.#backoffMs, Math.max(0, deadline - Date.now())));
    }
    return this.stats();
  }

  #flushSoon(delayMs: number): void {
    if (this.#closed || this.#sending) return;
    const wait = Math.max(delayMs, this.#backoffMs);
    if (this.#timer && wait > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, wait);
    this.#timer.unref();
  }

  #send(): Promise<void> {
    if (this.#sending) return this.#sending;
    if (this.#queue.length === 0) return Promise.resolve();
    const batch = this.#queue.slice(0, this.#isolate > 0 ? 1 : this.#opts.maxBatch);
    this.#sending = this.#post(batch)
      .then(
        () => {
          if (this.#isolate > 0) this.#isolate -= 1;
          this.#queue.splice(0, batch.length);
          this.#stats.delivered += batch.length;
          this.#backoffMs = 0;
        },
        (error: Error) => {
          this.#opts.onError?.(error);
          // A batch the ledger calls malformed would block the queue forever: drop it, loudly.
          if (error instanceof RejectedBatch) {
            if (batch.length > 1) {
              this.#isolate = batch.length;
              return;
            }
            if (this.#isolate > 0) this.#isolate -= 1;
            this.#queue.splice(0, batch.length);
            this.#stats.rejected += batch.length;
            return;
          }
          this.#stats.failures += 1;
          this.#backoffMs = Math.min(5_000, Math.max(100, this.#backoffMs * 2));
        },
      )
      .finally(() => {
        this.#sending = undefined;
        this.#wakeBacklog();
        if (this.#queue.length > 0) this.#flushSoon(this.#queue.length >= this.#opts.maxBatch ? 0 : this.#opts.flushIntervalMs);
      });
    return this.#sending;
  }

  async #post(batch: unknown[]): Promise<void> {
    const res = await fetch(this.#opts.url, {
      method: 'POST',
      headers: { ...(this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {}), 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(batch)),
      signal: AbortSignal.timeout(this.#opts.requestTimeoutMs),
    });
    const refused = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429 && res.status !== 401;
    if (!res.ok) throw new (refused ? RejectedBatch : Error)(`audit ledger refused a batch of ${batch.length}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
    await res.arrayBuffer();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
