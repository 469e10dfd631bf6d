import { EventEmitter } from 'node:events';
import type { ControlPlaneClient } from './control-plane-client';
import type { Svid, SvidIssuer } from './svid';

export type SvidFetcher = () => Promise<Svid>;

export interface SvidSourceOptions {
  /** Where fresh SVIDs come from. */
  fetch: SvidFetcher;
  /** Fraction of the lifetime after which to rotate (0.5 = half-life). */
  rotateAt?: number;
  /** Delay before the first retry of a failed rotation (default 1 s); doubled at every failure in a row. */
  retryMs?: number;
  /** The longest delay between retries (default 30 s). */
  maxRetryMs?: number;
}

/**
 * The one holder of a workload's SVID: it renews at half-life and emits 'rotated' with the new
 * one. A failed renewal is reported on 'error' and retried with exponential backoff (retryMs,
 * doubled per failure, at most maxRetryMs), but while the current SVID is valid never later than a
 * quarter of the time it has left, so a control plane that is down for a while (and comes back on
 * the same URL) costs no identity if it is back before the SVID expires. After expiry the retries
 * go on at the backoff pace, so the workload recovers whenever the control plane does. Used by the proxy (its TLS identity), by
 * agents (the key they sign provenance with) and by the ledger (its checkpoint signatures).
 */
export class SvidSource extends EventEmitter<{ rotated: [Svid]; error: [Error] }> {
  #svid: Svid;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Failed renewals in a row (the backoff exponent). */
  #failures = 0;

  private constructor(
    svid: Svid,
    private readonly fetchSvid: SvidFetcher,
    private readonly rotateAt: number,
    private readonly retryMs: number,
    private readonly maxRetryMs: number,
  ) {
    super();
    this.#svid = svid;
    this.#schedule(svid, Date.now());
  }

  static async start(opts: SvidSourceOptions): Promise<SvidSource> {
    const rotateAt = opts.rotateAt ?? 0.5;
    if (!(rotateAt > 0 && rotateAt < 1)) throw new RangeError('rotateAt must be in (0, 1)');
    const svid = await opts.fetch();
    return new SvidSource(svid, opts.fetch, rotateAt, opts.retryMs ?? 1000, opts.maxRetryMs ?? 30_000);
  }

  /** A source that asks a CA directly (the control plane's own identities, tests). */
  static fromIssuer(issuer: SvidIssuer, spiffeId: string, ttlSeconds?: number): Promise<SvidSource> {
    return SvidSource.start({ fetch: () => issuer.issue({ spiffeId, ttlSeconds }) });
  }

  /** A pod's source: the control plane issues the SVID its bootstrap token names (or, without one, its mesh identity). */
  static fromControlPlane(client: ControlPlaneClient, ttlSeconds?: number): Promise<SvidSource> {
    return SvidSource.start({ fetch: () => client.fetchSvid(ttlSeconds) });
  }

  current(): Svid {
    return this.#svid;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(svid: Svid, fetchedAt: number): void {
    this.#arm(Math.max(0, (svid.notAfter.getTime() - fetchedAt) * this.rotateAt));
  }

  #arm(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#rotate(), delay);
    this.#timer.unref();
  }

  async #rotate(): Promise<void> {
    try {
      const svid = await this.fetchSvid();
      if (this.#stopped) return;
      this.#svid = svid;
      this.#failures = 0;
      this.#schedule(svid, Date.now());
      this.emit('rotated', svid);
    } catch (err) {
      if (this.#stopped) return;
      if (this.listenerCount('error') > 0) this.emit('error', err as Error);
      this.#failures += 1;
      const backoff = Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.min(this.#failures - 1, 30));
      const left = this.#svid.notAfter.getTime() - Date.now();
      this.#arm(left > 0 ? Math.min(backoff, Math.max(left / 4, 50)) : backoff);
    }
  }
}
