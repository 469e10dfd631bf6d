import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeChunks } from '@reelmesh/agent-kit/testing';
import { loadWorkflow } from '@reelmesh/workflow';
import { scanForPlaintext } from './scan';

/** The at-rest scanner itself: it must catch real plaintext and not cry wolf on ciphertext. */
describe('plaintext scanner', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'scan-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finds a real Matroska chunk, a LUT and low-entropy data', async () => {
    const dir = fresh();
    const { av } = await makeChunks(loadWorkflow());
    writeFileSync(join(dir, 'chunk.mkv'), av);
    writeFileSync(join(dir, 'look.cube'), 'LUT_3D_SIZE 33\n0 0 0\n');
    writeFileSync(join(dir, 'zeros.bin'), Buffer.alloc(10_000));
    const { findings } = await scanForPlaintext(dir);
    expect([...new Set(findings.map((f) => f.file))].sort()).toEqual(['chunk.mkv', 'look.cube', 'zeros.bin']);
  }, 60_000);

  it('does not flag random bytes that happen to contain a 4-byte EBML magic', async () => {
    const dir = fresh();
    const noise = randomBytes(2_000_000);
    Buffer.from([0x1a, 0x45, 0xdf, 0xa3]).copy(noise, 123_456);
    writeFileSync(join(dir, 'sealed.bin'), noise);
    expect((await scanForPlaintext(dir)).findings).toEqual([]);
  });
});
