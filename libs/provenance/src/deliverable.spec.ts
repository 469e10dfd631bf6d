import { mkdtemp, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFixture, honestChain, type Fixture } from './chain-fixture.test-util';
import { chunkProvenanceFile, PROVENANCE_DIR, verifyDeliverable, writeChunkProvenance } from './deliverable';

let fx: Fixture;
let dir: string;
beforeAll(async () => {
  fx = await createFixture();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-deliverable-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function writeRun(chains: Array<Map<string, unknown>>) {
  for (const [i, chain] of chains.entries()) {
    await writeChunkProvenance(dir, { workflowId: 'feature-film', chunkIndex: i, chunkCount: 4, records: [...chain.values()] as never });
  }
}

describe('verifyDeliverable (offline check of a finished run)', () => {
  it('accepts a complete honest run', async () => {
    await writeRun([0, 1, 2, 3].map((i) => honestChain(fx, i)));
    const report = await verifyDeliverable(dir, fx.workflow, fx.ca.bundlePem);
    expect(report).toMatchObject({ ok: true, chunkCount: 4 });
    expect(report.chunks.map((c) => c.records)).toEqual([8, 8, 8, 8]);
  });

  it('writes each chunk file whole, readable by whoever checks the run (0644), with no partial file left', async () => {
    const records = [...honestChain(fx, 0).values()];
    const path = await writeChunkProvenance(dir, { workflowId: 'feature-film', chunkIndex: 0, chunkCount: 4, records });
    expect(path).toBe(join(dir, PROVENANCE_DIR, 'chunk-00000.json'));
    expect(await readdir(join(dir, PROVENANCE_DIR))).toEqual(['chunk-00000.json']);
    expect((await stat(path)).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ workflowId: 'feature-film', chunkIndex: 0, chunkCount: 4, records });
  });

  it('names the chunk and the link that broke, and missing chunks', async () => {
    const chains = [0, 1, 2, 3].map((i) => honestChain(fx, i));
    chains[2].set('grade/picture', honestChain(fx, 1).get('grade/picture')!);
    await writeRun(chains);
    await unlink(join(dir, PROVENANCE_DIR, chunkProvenanceFile(3)));
    const report = await verifyDeliverable(dir, fx.workflow, fx.ca.bundlePem);
    expect(report.ok).toBe(false);
    expect(report.chunks[2]).toMatchObject({ ok: false, link: { kind: 'replayed-chunk', step: 'grade' } });
    expect(report.chunks[3]).toMatchObject({ ok: false, error: expect.stringContaining('no provenance for chunk 3') });
  });

  it('fails clearly when there are no records', async () => {
    await expect(verifyDeliverable(dir, fx.workflow, fx.ca.bundlePem)).rejects.toThrow(/no provenance records/);
  });
});
