import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from './fs-object-store';
import { UnsafeKeyError, safeKey } from './safe-key';

const ctx = { workflowId: 'wf', step: 'demux', agent: 'vfx-1' };
const dirs: string[] = [];
const store = () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-'));
  dirs.push(dir);
  return new FsObjectStore(dir);
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

const allFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => e.name);

describe('FsObjectStore', () => {
  it('publishes an object only on commit, with its sha256 and length', async () => {
    const s = store();
    const w = await s.createWriter('wf/demux/av/00001.mkv', ctx);
    w.stream.write('hello ');
    w.stream.write('world');
    expect(await s.exists('wf/demux/av/00001.mkv')).toBe(false);
    const committed = await w.commit();
    expect(committed).toEqual({
      key: 'wf/demux/av/00001.mkv',
      sha256: createHash('sha256').update('hello world').digest('hex'),
      byteLength: 11,
    });
    expect(await text(await s.createReadStream('wf/demux/av/00001.mkv', ctx))).toBe('hello world');
    expect(await s.list('wf')).toEqual(['wf/demux/av/00001.mkv']);
  });

  it('abort leaves no file at all', async () => {
    const s = store();
    const w = await s.createWriter('wf/x/y.mkv', ctx);
    w.stream.write(Buffer.alloc(100_000));
    await w.abort(new Error('client went away'));
    expect(allFiles(s.root)).toEqual([]);
    expect(await s.exists('wf/x/y.mkv')).toBe(false);
  });

  it('a failing encoder aborts the commit and removes the partial file', async () => {
    const { Transform } = await import('node:stream');
    const dir = mkdtempSync(join(tmpdir(), 'store-'));
    dirs.push(dir);
    const s = new FsObjectStore(dir, {
      encode: async () =>
        new Transform({
          transform(_c, _e, cb) {
            cb(new Error('KMS unreachable'));
          },
        }),
    });
    const w = await s.createWriter('wf/a.mkv', ctx);
    w.stream.write('x');
    await expect(w.commit()).rejects.toThrow('KMS unreachable');
    expect(allFiles(dir)).toEqual([]);
  });

  it('refuses unsafe keys before touching the disk', async () => {
    const s = store();
    for (const key of ['../etc/passwd', 'wf/../../x', '/abs', 'a//b', 'wf/..', '', 'a/b\\c', 'wf/%2e%2e/x']) {
      await expect(s.createWriter(key, ctx)).rejects.toBeInstanceOf(UnsafeKeyError);
    }
    expect(safeKey('feature-film/demux/av/00003.mkv')).toBe('feature-film/demux/av/00003.mkv');
  });

  it('reading a missing object fails before anyone pipes', async () => {
    await expect(store().createReadStream('wf/none.mkv', ctx)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
