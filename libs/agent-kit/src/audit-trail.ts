import type { Logger } from 'pino';
import { AuditLog, type AuditLogOptions } from '@reelmesh/provenance';

/**
 * The agent's tamper-evident audit log, fed without blocking the hot path: events are appended
 * in order in the background; close() waits for them and signs a final checkpoint.
 */
export class AuditTrail {
  readonly #log: Promise<AuditLog>;
  #last: Promise<unknown>;

  constructor(
    options: AuditLogOptions,
    private readonly logger?: Logger,
  ) {
    this.#log = AuditLog.open(options);
    this.#last = this.#log.catch((error: Error) => this.logger?.error({ err: error }, 'audit log could not be opened'));
  }

  record(event: Record<string, unknown>): void {
    this.#last = this.#log
      .then((log) => log.append(event))
      .catch((error: Error) => this.logger?.error({ err: error, event: event.type }, 'audit entry could not be written'));
  }

  /** Wait for every pending entry, then checkpoint what is not yet covered. */
  async close(): Promise<void> {
    await this.#last;
    const log = await this.#log.catch(() => undefined);
    await log?.checkpoint();
  }
}
