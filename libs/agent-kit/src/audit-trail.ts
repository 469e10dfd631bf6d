import type { Logger } from 'pino';
import { AuditShipper } from '@reelmesh/provenance';

/**
 * The agent's side of the owner's audit ledger: every handoff it sends, receives or refuses is
 * shipped (batched, retried) to the ledger, off the hot path. If the ledger has been unreachable
 * long enough for the queue to fill, `accepting()` is false and the agent refuses new chunks
 * (503 AUDIT_UNAVAILABLE) rather than work unaudited.
 */
export class AuditTrail {
  readonly #shipper: AuditShipper;

  constructor(
    /** No token: the ledger knows the pod by its mesh identity. */
    private readonly options: { url: string; token?: string; maxQueued?: number; flushIntervalMs?: number; closeTimeoutMs?: number },
    private readonly logger?: Logger,
  ) {
    this.#shipper = new AuditShipper({
      ...options,
      onError: (error) => this.logger?.warn({ err: error }, 'audit ledger unreachable; events kept and retried'),
    });
  }

  accepting(): boolean {
    return this.#shipper.accepting();
  }

  record(event: Record<string, unknown>): void {
    if (!this.#shipper.record({ ...event, time: new Date().toISOString() })) {
      this.logger?.error({ event: event.type }, 'audit queue full: event refused');
    }
  }

  stats() {
    return this.#shipper.stats();
  }

  /** Deliver every pending event (on drain). */
  async close(): Promise<void> {
    const left = await this.#shipper.close(this.options.closeTimeoutMs);
    if (left.queued > 0) this.logger?.error({ queued: left.queued }, 'audit events could not be delivered before shutdown');
  }
}
