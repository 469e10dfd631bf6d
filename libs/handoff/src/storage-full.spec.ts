// Disk full on the receiver's volume (issue 15): the handoff is refused with 507
// INSUFFICIENT_STORAGE, nothing half-written stays (no partial file, no object, no slot record),
// and the sender's retry goes through once space is freed. The volume is a real, really full
// filesystem: a 2 MiB tmpfs (root only; skipped loudly otherwise).
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import express from 'express';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SealedObjectStore, StaticDataKeyProvider } from '@reelmesh/envelope';
import { jsonErrorHandler } from '@reelmesh/http-kit';
import { FsObjectStore, mountSmallVolume, type ObjectStore } from '@reelmesh/storage';
import { chunkKey, slotRecordKey } from './chunk-key';
import { createHandoffRouter } from './handoff-router';
import { fromMulterError } from './multer-errors';
import type { ReceivedChunk } from './received-chunk';
import { sendChunk } from './send-chunk';
import { listen, manifestFor, WORKFLOW } from './spec-helpers';

const MiB = 1024 * 1024;
const PAGE = 4096;
const slot = (chunkIndex: number) => ({ workflowId: WORKFLOW, step: 'demux', artifact: 'av', chunkIndex });
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** The router as vfx-1 mounts it, on a real HTTP server; `store` may be plain or sealed. */
async function receiver(store: ObjectStore) {
  const received: ReceivedChunk[] = [];
  const app = express();
  app.use(createHandoffRouter({ workflowId: WORKFLOW, agent: 'vfx-1', store, accepts: (step, artifact) => step === 'demux' && artifact === 'av', onReceived: (c) => void received.push(c) }));
  app.use(jsonErrorHandler());
  const server = await listen(app);
  closers.push(server.close);
  return { baseUrl: `http://127.0.0.1:${server.port}`, received };
}

const send = (baseUrl: string, bytes: Buffer, chunkIndex: number, extra: Partial<Parameters<typeof sendChunk>[0]> = {}) =>
  sendChunk({ baseUrl, manifest: manifestFor(bytes, { chunkIndex }), open: async () => Readable.from([bytes]), ...extra });

describe('a full volume is 507 INSUFFICIENT_STORAGE, and the sender retries it', () => {
  it('maps ENOSPC and EDQUOT, and only those, to 507 naming the volume and object but no path', () => {
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write '/var/lib/reelmesh/x'"), { code: 'ENOSPC', syscall: 'write' });
    const located = fromMulterError(Object.assign(enospc, { objectKey: 'feature-film/demux/av/00000.mkv', volume: 'vfx-1' }));
    expect(located).toMatchObject({ status: 507, code: 'INSUFFICIENT_STORAGE', expose: true });
    expect(located.message).toBe('the volume of vfx-1 is full (ENOSPC: no space left): cannot store feature-film/demux/av/00000.mkv; retry once space is freed');
    const quota = fromMulterError(Object.assign(new Error('EDQUOT /srv/x'), { code: 'EDQUOT', syscall: 'write' }));
    expect(quota).toMatchObject({ status: 507, code: 'INSUFFICIENT_STORAGE', message: 'the volume is full (EDQUOT: disk quota exceeded); retry once space is freed' });
    expect(quota.message).not.toContain('/srv');
    // Other file-system errors are the receiver's problem (500), not a malformed body (400).
    expect(fromMulterError(Object.assign(new Error('EACCES /srv'), { code: 'EACCES', syscall: 'open' }))).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(fromMulterError(new Error('Unexpected end of form'))).toMatchObject({ status: 400, code: 'MALFORMED_MULTIPART' });
  });

  it('sendChunk retries a 507 and stops when the receiver has room again', async () => {
    let answers = 0;
    let refusals = 1;
    const app = express();
    app.post('/v1/handoffs/{*rest}', (req, res) => {
      answers++;
      req.resume();
      if (refusals-- > 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
      res.status(201).json({ status: 'stored' });
    });
    app.use(jsonErrorHandler());
    const server = await listen(app);
    closers.push(server.close);
    const bytes = randomBytes(10_000);
    const retry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
    expect(await send(`http://127.0.0.1:${server.port}`, bytes, 0, { retry })).toEqual({ status: 'stored', httpStatus: 201, attempts: 2 });
    expect(answers).toBe(2);
    // Still full when the attempts are used up: the last answer is reported.
    refusals = 3;
    await expect(send(`http://127.0.0.1:${server.port}`, bytes, 0, { retry })).rejects.toMatchObject({
      code: 'RETRIES_EXHAUSTED',
      status: 507,
      message: expect.stringContaining('507 INSUFFICIENT_STORAGE: the volume is full (ENOSPC'),
    });
    expect(answers).toBe(5);
  });
});

const volume = mountSmallVolume(2 * MiB);
if (!volume.ok) console.warn(`SKIPPING full-volume handoff tests (507 on a really full tmpfs): ${volume.reason}`);

describe.skipIf(!volume.ok)('a handoff into a really full volume (root: 2 MiB tmpfs)', () => {
  const v = volume.ok ? volume : undefined!;
  const root = `${v.dir}/store`;
  const fillers: string[] = [];
  afterEach(async () => {
    fillers.splice(0).forEach((f) => rmSync(f, { force: true }));
    await rm(root, { recursive: true, force: true });
  });
  afterAll(() => v.unmount());

  const provider = new StaticDataKeyProvider({ keyId: 'vfx-1-key', plaintextKey: randomBytes(32), wrappedKey: randomBytes(40) });
  const stores: Array<[string, () => ObjectStore]> = [
    ['plain', () => new FsObjectStore(root)],
    ['sealed', () => new SealedObjectStore({ root, provider })],
  ];

  describe.each(stores)('%s store', (_kind, makeStore) => {
    it('refuses a chunk larger than the free space with 507, keeps nothing, and takes the retry once space is freed', async () => {
      const store = makeStore();
      const { baseUrl, received } = await receiver(store);
      const filler = v.fill(256 * 1024);
      fillers.push(filler);
      const bytes = randomBytes(MiB);

      // The first attempt meets the full volume; the callback between attempts frees the space.
      const problems: string[] = [];
      const volumeAfterRefusal: string[][] = [];
      const logger = pino(
        { level: 'warn' },
        {
          write(line: string) {
            const { problem } = JSON.parse(line) as { problem: string };
            problems.push(problem);
            if (problem.startsWith('507 ')) {
              volumeAfterRefusal.push(allFilesSync(v.dir));
              rmSync(filler);
            }
          },
        },
      );
      const result = await send(baseUrl, bytes, 0, { logger, retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 } });

      expect(problems).toEqual([
        `507 INSUFFICIENT_STORAGE: the volume of vfx-1 is full (ENOSPC: no space left): cannot store ${chunkKey(slot(0))}; retry once space is freed`,
      ]);
      // When the 507 arrived nothing of the chunk was left: only the filler.
      expect(volumeAfterRefusal).toEqual([[relative(v.dir, filler)]]);
      expect(result).toEqual({ status: 'stored', httpStatus: 201, attempts: 2 });
      expect(received.map((c) => c.chunkIndex)).toEqual([0]);
      expect(await store.list(WORKFLOW)).toEqual([chunkKey(slot(0))]);
      expect(await store.exists(slotRecordKey(slot(0)))).toBe(true);
      expect((await buffer(await store.createReadStream(chunkKey(slot(0)), { workflowId: WORKFLOW, step: 'demux', agent: 'vfx-1' }))).equals(bytes)).toBe(true);
    });

    it('a volume that fills up at the slot record: 507, and neither the chunk nor a record stays', async () => {
      const store = makeStore();
      const { baseUrl, received } = await receiver(store);
      const bytes = randomBytes(MiB - 100);
      // Measure what the chunk takes on this volume, then leave exactly that much room: the chunk
      // fits, its slot record does not.
      await send(baseUrl, bytes, 1);
      const onVolume = Math.ceil(statSync(`${root}/${chunkKey(slot(1))}`).size / PAGE) * PAGE;
      await rm(root, { recursive: true, force: true });
      received.length = 0;
      const filler = v.fill(onVolume);
      fillers.push(filler);

      const refused = send(baseUrl, bytes, 0, { retry: { attempts: 1 } });
      await expect(refused).rejects.toMatchObject({ code: 'RETRIES_EXHAUSTED', status: 507, message: expect.stringContaining(`cannot store ${slotRecordKey(slot(0))}`) });
      expect(allFilesSync(v.dir)).toEqual([relative(v.dir, filler)]);
      expect(received).toEqual([]);
    });
  });
});

/** Every file on the volume (partial files included), as relative paths; synchronous, so a log callback can look. */
function allFilesSync(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
