import { describe, expect, it } from 'vitest';
import { loadWorkflow } from '@reelmesh/workflow';
import { WORKFLOW_PATH } from './chain-fixture.test-util';
import { benchProvenance } from './bench';

describe('benchProvenance', () => {
  it('signs every record of a chunk and verifies its full chain (cost reported, not asserted)', async () => {
    const result = await benchProvenance({ workflow: loadWorkflow(WORKFLOW_PATH), chunks: 2 });
    expect(result.chunks).toBe(2);
    expect(result.recordsPerChunk).toBe(8);
    // The per-chunk total is the chunk's signatures plus its chain check, nothing else.
    expect(result.totalMsPerChunk).toBeCloseTo(result.signMsPerRecord * result.recordsPerChunk + result.verifyChainMsPerChunk, 9);
    expect(result.chainBytesPerChunk).toBeGreaterThan(1000);
  });
});
