import { describe, expect, it } from 'vitest';
import { filmShapedWorkflow } from './chain-fixture.test-util';
import { benchDeliverableAttestation, benchProvenance } from './bench';

describe('benchProvenance', () => {
  it('signs every record of a chunk and verifies its full chain (cost reported, not asserted)', async () => {
    const result = await benchProvenance({ workflow: filmShapedWorkflow(), chunks: 2 });
    expect(result.chunks).toBe(2);
    expect(result.recordsPerChunk).toBe(8); // one per (step, artifact) the fixture hands on: its 8 edges, no two alike
    // The per-chunk total is the chunk's signatures plus its chain check, nothing else.
    expect(result.totalMsPerChunk).toBeCloseTo(result.signMsPerRecord * result.recordsPerChunk + result.verifyChainMsPerChunk, 9);
    expect(result.chainBytesPerChunk).toBeGreaterThan(1000);
  });

  it('attests a synthetic deliverable and verifies it with every chunk (cost per GiB reported, not asserted)', async () => {
    const result = await benchDeliverableAttestation({ workflow: filmShapedWorkflow(), bytes: 3 * 1024 * 1024 + 17, chunks: 2 });
    expect(result).toMatchObject({ bytes: 3 * 1024 * 1024 + 17, chunks: 2 });
    expect(result.signMsPerGiB).toBeCloseTo(result.signMs / ((3 * 1024 * 1024 + 17) / 2 ** 30), 6);
    expect(result.verifyMs).toBeGreaterThan(0);
  });
});
