import { describe, expect, it } from 'vitest';
import { benchEnvelope } from './index';

// Speed is for `reelmesh bench`; this only checks the benchmark runs and reports every figure.
describe('benchEnvelope', () => {
  it('reports seal/open and raw AES-256-GCM throughput for a small run', async () => {
    const result = await benchEnvelope({ bytes: 4 * 1024 * 1024, frameSize: 16 * 1024, rounds: 1 });
    expect(result.bytes).toBe(4 * 1024 * 1024);
    expect(result.frameSize).toBe(16 * 1024);
    for (const key of ['rawSealMBps', 'rawOpenMBps', 'sealMBps', 'openMBps', 'sealRatio', 'openRatio'] as const) {
      expect(Number.isFinite(result[key]) && result[key] > 0, key).toBe(true);
    }
  });
});
