// A volume that is really full (a 2 MiB tmpfs): a write that runs out of space fails with its
// ENOSPC, says which object and volume, and leaves no partial file; the store keeps working once
// space is freed.
import { readdirSync, rmSync } from 'node:fs';
import { Transform } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from './fs-object-store';
import { mountSmallVolume } from './small-volume';

const volume = mountSmallVolume(2 * 1024 * 1024);
if (!volume.ok) console.warn(`SKIPPING full-volume (ENOSPC) tests of the object store: ${volume.reason}`);

const ctx = { workflowId: 'wf', step: 'demux', agent: 'vfx-1' };
const MiB = 1024 * 1024;

/** Every file in the tree, partial files included. */
const allFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();

describe.skipIf(!volume.ok)('FsObjectStore on a full volume (root: tmpfs)', () => {
  const v = volume.ok ? volume : undefined!;
  const fillers: string[] = [];
  afterEach(() => {
    fillers.splice(0).forEach((f) => rmSync(f, { force: true }));
    rmSync(`${v.dir}/store`, { recursive: true, force: true });
  });
  afterAll(() => v.unmount());

  const fullStore = (options?: ConstructorParameters<typeof FsObjectStore>[1]) => {
    const store = new FsObjectStore(`${v.dir}/store`, options);
    fillers.push(v.fill(64 * 1024));
    expect(v.freeBytes()).toBeLessThan(128 * 1024);
    return store;
  };

  it('a write larger than the free space rejects with ENOSPC naming the object, and leaves no partial file', async () => {
    const store = fullStore();
    const w = await store.createWriter('wf/demux/av/00000.mkv', ctx);
    const streamError = new Promise((resolve) => w.stream.once('error', resolve));
    w.stream.write(Buffer.alloc(MiB, 7));
    // The writer's own stream reports the file system's error, code and all (a handoff pipes into it).
    expect(await streamError).toMatchObject({ code: 'ENOSPC', objectKey: 'wf/demux/av/00000.mkv', volume: 'vfx-1' });
    await expect(w.commit()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(allFiles(store.root)).toEqual([]);
    expect(await store.exists('wf/demux/av/00000.mkv')).toBe(false);
  });

  it('bytes that only hit the disk on commit: commit rejects with ENOSPC and removes the partial file', async () => {
    const store = fullStore();
    const w = await store.createWriter('wf/demux/av/00001.mkv', ctx);
    // Below the stream's buffer, so nothing fails before commit flushes it.
    w.stream.write(Buffer.alloc(200 * 1024, 1));
    await expect(w.commit()).rejects.toMatchObject({ code: 'ENOSPC', objectKey: 'wf/demux/av/00001.mkv' });
    expect(allFiles(store.root)).toEqual([]);
  });

  it('through an encoder (as the sealed store writes) the ENOSPC keeps its code and abort removes everything', async () => {
    const store = fullStore({ encode: async () => new Transform({ transform: (chunk: Buffer, _e, cb) => cb(null, Buffer.concat([chunk, chunk])) }) });
    const w = await store.createWriter('wf/demux/av/00002.mkv', ctx);
    const streamError = new Promise((resolve) => w.stream.once('error', resolve));
    w.stream.write(Buffer.alloc(512 * 1024, 2));
    expect(await streamError).toMatchObject({ code: 'ENOSPC', volume: 'vfx-1' });
    await w.abort(await streamError);
    expect(allFiles(store.root)).toEqual([]);
  });

  it('once space is freed the same object is written whole', async () => {
    const store = fullStore();
    const w = await store.createWriter('wf/demux/av/00003.mkv', ctx);
    w.stream.end(Buffer.alloc(MiB, 3));
    await expect(w.commit()).rejects.toMatchObject({ code: 'ENOSPC' });
    fillers.splice(0).forEach((f) => rmSync(f, { force: true }));
    const again = await store.createWriter('wf/demux/av/00003.mkv', ctx);
    again.stream.end(Buffer.alloc(MiB, 3));
    expect(await again.commit()).toMatchObject({ byteLength: MiB });
    expect(allFiles(store.root)).toEqual(['00003.mkv']);
  });
});
