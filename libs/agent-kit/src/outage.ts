import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isEnvelopeError } from '@reelmesh/envelope';
import { HandoffError } from '@reelmesh/handoff';
import { HttpError, ResponseError } from '@reelmesh/http-kit';

/** How long an outage is waited out by default before the work fails (REELMESH_OUTAGE_DEADLINE_MS). */
export const DEFAULT_OUTAGE_DEADLINE_MS = 300_000;

/** Filesystem and socket errors that go away by themselves: a full disk freed, a peer restarted. */
const PASSING = new Set(['ENOSPC', 'EDQUOT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/**
 * Is this failure an outage to wait out rather than a verdict? KMS unreachable, the disk full, a
 * peer (or its proxy, or the ledger behind it) not answering or answering 5xx/429 after every
 * retry. A refusal (4xx: policy denied, provenance invalid, a conflict) or a broken input is final.
 */
export function isOutage(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e && !seen.has(e); e = e.cause as typeof e) {
    seen.add(e);
    if (isEnvelopeError(e)) return e.code === 'ENVELOPE_KMS_UNAVAILABLE';
    if (e instanceof HandoffError) {
      if (e.code === 'RETRIES_EXHAUSTED') return true;
      // Not sent at all: what stopped it (the KMS unreachable while reading the chunk back, a socket) decides.
      if (e.code !== 'NETWORK_ERROR') return false;
      continue;
    }
    // Thrown here (HttpError) or answered by a peer (ResponseError): unavailable or out of space for now.
    if (e instanceof HttpError || e instanceof ResponseError) return e.status === 503 || e.status === 507;
    if (typeof e.code === 'string' && PASSING.has(e.code)) return true;
  }
  return false;
}

export interface OutagePolicy {
  /** Give up once the work has failed for this long without a success (ms). */
  deadlineMs: number;
  /** First pause; doubled after each failure up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Aborted when the agent drains: an outage is no longer waited out (the work is recorded in the
   * volume and taken up by the next start); the last error is thrown at once.
   */
  signal?: AbortSignal;
}

/**
 * Run `work` until it succeeds, waiting out outages (isOutage) with exponential backoff; a final
 * error is thrown at once, an outage longer than the deadline is thrown as OUTAGE_DEADLINE naming
 * what was waited for. The work must be safe to repeat (every attempt starts from scratch).
 */
export async function waitOutOutages<T>(what: string, work: () => Promise<T>, policy: OutagePolicy, logger?: Logger): Promise<T> {
  const since = Date.now();
  let delay = policy.baseDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isOutage(error)) throw error;
      if (policy.signal?.aborted) throw error;
      const waited = Date.now() - since;
      if (waited + delay > policy.deadlineMs) {
        throw Object.assign(new Error(`${what}: still failing after ${Math.round(waited / 1000)} s of retries (deadline ${Math.round(policy.deadlineMs / 1000)} s, REELMESH_OUTAGE_DEADLINE_MS): ${(error as Error).message}`, { cause: error }), {
          code: 'OUTAGE_DEADLINE',
        });
      }
      logger?.warn({ err: error, attempt, retryInMs: delay }, `${what}: outage, waiting it out`);
      await sleep(delay, undefined, { signal: policy.signal }).catch(() => {
        throw error;
      });
      delay = Math.min(policy.maxDelayMs ?? 10_000, delay * 2);
    }
  }
}
