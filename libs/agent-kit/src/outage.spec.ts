import { describe, expect, it } from 'vitest';
import { EnvelopeError } from '@reelmesh/envelope';
import { HandoffError } from '@reelmesh/handoff';
import { HttpError, ResponseError } from '@reelmesh/http-kit';
import { isOutage, waitOutOutages } from './outage';

const enospc = () => Object.assign(new Error('write failed'), { code: 'ENOSPC' });

describe('outages are waited out, verdicts are not', () => {
  it('tells an outage (KMS down, disk full, a peer gone, 503/507) from a refusal', () => {
    expect(isOutage(new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', 'KMS unreachable'))).toBe(true);
    expect(isOutage(new EnvelopeError('ENVELOPE_KMS_DENIED', 'not allowed'))).toBe(false);
    expect(isOutage(enospc())).toBe(true);
    // ...also when a stream wraps it
    expect(isOutage(new Error('pipeline failed', { cause: new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', 'down') }))).toBe(true);
    expect(isOutage(new HandoffError('gave up', 'RETRIES_EXHAUSTED', 503, 5))).toBe(true);
    // The chunk could not even be read back to send: the KMS was down.
    const unreadable = new HandoffError('handoff to x failed: KMS Decrypt failed', 'NETWORK_ERROR', undefined, 1, { cause: new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', 'ECONNREFUSED') });
    expect(isOutage(unreadable)).toBe(true);
    expect(isOutage(new HandoffError('handoff failed: bad manifest', 'NETWORK_ERROR', undefined, 1, { cause: new Error('bad') }))).toBe(false);
    expect(isOutage(new HandoffError('POLICY_DENIED', 'POLICY_DENIED', 403, 1))).toBe(false);
    expect(isOutage(new HandoffError('SLOT_CONFLICT', 'SLOT_CONFLICT', 409, 1))).toBe(false);
    expect(isOutage(new HttpError(507, 'INSUFFICIENT_STORAGE', 'full'))).toBe(true);
    expect(isOutage(new HttpError(422, 'PROVENANCE_INVALID', 'bad chain'))).toBe(false);
    // The same answers as a client reads them from a peer (an owner whose KMS is restarting).
    expect(isOutage(new ResponseError(503, 'KMS_UNAVAILABLE', 'storage is sealed and KMS is unreachable'))).toBe(true);
    expect(isOutage(new ResponseError(507, 'INSUFFICIENT_STORAGE', 'full'))).toBe(true);
    expect(isOutage(new ResponseError(400, 'INPUT_INVALID', 'not media'))).toBe(false);
    expect(isOutage(new Error('ffmpeg exited with code 1'))).toBe(false);
  });

  it('retries an outage until the work succeeds, and throws a refusal at once', async () => {
    let calls = 0;
    const value = await waitOutOutages('job', async () => {
      calls++;
      if (calls < 3) throw enospc();
      return 'done';
    }, { deadlineMs: 10_000, baseDelayMs: 5 });
    expect([value, calls]).toEqual(['done', 3]);

    calls = 0;
    const refusal = new HandoffError('denied', 'POLICY_DENIED', 403, 1);
    await expect(waitOutOutages('job', async () => {
      calls++;
      throw refusal;
    }, { deadlineMs: 10_000, baseDelayMs: 5 })).rejects.toBe(refusal);
    expect(calls).toBe(1);
  });

  it('gives up past the deadline with OUTAGE_DEADLINE naming what it waited for and the last error', async () => {
    const error = await waitOutOutages('handoff of grade chunk 3 to hdr', async () => {
      throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', 'connect ECONNREFUSED 127.0.0.1:4566');
    }, { deadlineMs: 40, baseDelayMs: 10 }).catch((e: unknown) => e as Error & { code?: string });
    expect(error.code).toBe('OUTAGE_DEADLINE');
    expect(error.message).toMatch(/^handoff of grade chunk 3 to hdr: still failing after \d+ s of retries \(deadline 0 s, REELMESH_OUTAGE_DEADLINE_MS\): connect ECONNREFUSED/);
  });

  it('stops waiting when the agent drains: the outage is thrown at once (the volume keeps the work)', async () => {
    const draining = new AbortController();
    let calls = 0;
    const waiting = waitOutOutages('handoff', async () => {
      calls++;
      throw enospc();
    }, { deadlineMs: 60_000, baseDelayMs: 10_000, signal: draining.signal });
    await new Promise((r) => setTimeout(r, 20));
    draining.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(calls).toBe(1);
  });
});
