export interface RetryPolicy {
  /** Total attempts including the first (default 5). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 5000 };

/** Exponential backoff with "equal jitter": half fixed, half random, so retries never bunch up at 0. */
export function backoffDelay(policy: RetryPolicy, failedAttempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Network failures worth another try: the peer is not up yet, restarted, or dropped us. */
const RETRYABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'HANDOFF_TIMEOUT',
]);

export function isRetryableNetworkError(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  return RETRYABLE_NETWORK.has(e?.code ?? '') || /socket hang up/i.test(e?.message ?? '');
}

export const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;

/** Sleep that an AbortSignal can cut short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
