import { EventEmitter } from 'node:events';
import type { Ca, Svid } from './ca';

export type SvidFetcher = () => Promise<Svid>;

export interface SvidSourceOptions {
  /** Where fresh SVIDs come from: the CA in-process, or the control plane over its API. */
  fetch: SvidFetcher;
  /** Fraction of the remaining lifetime after which to rotate (0.5 = half-life). */
  rotateAt?: number;
  /** Delay before retrying a failed rotation. */
  retryMs?: number;
}

/**
 * Holds the current SVID of one workload and renews it at half-life, emitting 'rotated'
 * with the new SVID. Failed renewals are retried (and reported on 'error') while the old
 * SVID is still valid, so a control-plane blip does not take the pod down.
 */
export class SvidSource extends EventEmitter<{ rotated: [Svid]; error: [Error] }> {
  #svid: Svid;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(
    svid: Svid,
    private readonly fetchSvid: SvidFetcher,
    private readonly rotateAt: number,
    private readonly retryMs: number,
  ) {
    super();
    this.#svid = svid;
    this.#schedule(svid, Date.now());
  }

  static async start(opts: SvidSourceOptions): Promise<SvidSource> {
    const rotateAt = opts.rotateAt ?? 0.5;
    if (!(rotateAt > 0 && rotateAt < 1)) throw new Error('rotateAt must be in (0, 1)');
    const svid = await opts.fetch();
    return new SvidSource(svid, opts.fetch, rotateAt, opts.retryMs ?? 1000);
  }

  /** A source that asks a CA object directly (single-process setups and tests). */
  static fromCa(ca: Ca, spiffeId: string, ttlSeconds?: number): Promise<SvidSource> {
    return SvidSource.start({ fetch: () => ca.issue({ spiffeId, ttlSeconds }) });
  }

  current(): Svid {
    return this.#svid;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(svid: Svid, fetchedAt: number): void {
    const delay = Math.max(0, (svid.notAfter.getTime() - fetchedAt) * this.rotateAt);
    this.#arm(delay);
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
      this.#schedule(svid, Date.now());
      this.emit('rotated', svid);
    } catch (err) {
      if (this.#stopped) return;
      if (this.listenerCount('error') > 0) this.emit('error', err as Error);
      const left = this.#svid.notAfter.getTime() - Date.now();
      this.#arm(Math.min(this.retryMs, Math.max(left / 4, 50)));
    }
  }
}
