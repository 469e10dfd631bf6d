import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { produceFileAtomically, writeFileAtomic, writeFileAtomicSync } from './atomic-file';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rm-atomic-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the one atomic writer', () => {
  it('publishes the whole file with the mode asked for, and leaves no partial file', async () => {
    await writeFileAtomic(join(dir, 'a.json'), '{"a":1}', { mode: 0o640 });
    writeFileAtomicSync(join(dir, 'b.json'), '{"b":2}');
    expect(await readFile(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}');
    expect((await stat(join(dir, 'a.json'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(dir, 'b.json'))).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['a.json', 'b.json']);
  });

  it('replaces an existing file in one step, or refuses to when exclusive', async () => {
    const path = join(dir, 'secret');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, 'second');
    expect(await readFile(path, 'utf8')).toBe('second');
    await expect(writeFileAtomic(path, 'third', { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(() => writeFileAtomicSync(path, 'fourth', { exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['secret']);
  });

  it('a producer that fails leaves neither the target nor its partial file', async () => {
    const path = join(dir, 'deliverable.mp4');
    await expect(
      produceFileAtomically(path, async (partial) => {
        await writeFile(partial, 'half a film');
        throw new Error('ffmpeg died');
      }),
    ).rejects.toThrow('ffmpeg died');
    expect(await readdir(dir)).toEqual([]);
    // While producing, readers never see the target: only a hidden partial file exists.
    await produceFileAtomically(path, async (partial) => {
      await writeFile(partial, 'the film');
      expect((await readdir(dir)).filter((f) => !f.startsWith('.partial-'))).toEqual([]);
    });
    expect(await readFile(path, 'utf8')).toBe('the film');
  });
});
