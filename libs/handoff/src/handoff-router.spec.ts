import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import request from 'supertest';
import { FsObjectStore } from '@reelmesh/storage';
import { chunkKey, slotRecordKey } from './chunk-key';
import { HttpError } from '@reelmesh/http-kit';
import { multipartFrame } from './multipart-body';
import { allFiles, eventually, handoffApp, listen, manifestFor, rawPost, sha256, tempStore, WORKFLOW } from './spec-helpers';

const URL0 = `/v1/handoffs/${WORKFLOW}/demux/av/0`;
const bytes = Buffer.from('matroska-ish chunk bytes '.repeat(200));

let dir: string;
let store: FsObjectStore;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, store, cleanup } = await tempStore());
});
afterEach(async () => {
  await cleanup();
});

function post(app: Parameters<typeof request>[0], url: string, manifest: unknown, data: Buffer, contentType = 'application/octet-stream') {
  return request(app)
    .post(url)
    .field('manifest', typeof manifest === 'string' ? manifest : JSON.stringify(manifest))
    .attach('chunk', data, { filename: '00000.mkv', contentType });
}

describe('handoff router: storing', () => {
  it('stores exactly the bytes, records the slot and reports the chunk once', async () => {
    const { app, received } = handoffApp(store);
    const res = await post(app, URL0, manifestFor(bytes), bytes).expect(201);
    const key = `${WORKFLOW}/demux/av/00000.mkv`;
    expect(res.body).toEqual({ status: 'stored', key, sha256: sha256(bytes), byteLength: bytes.length });
    expect((await readFile(store.pathOf(key))).equals(bytes)).toBe(true);
    expect(await store.exists(slotRecordKey({ workflowId: WORKFLOW, step: 'demux', artifact: 'av', chunkIndex: 0 }))).toBe(true);
    expect(await store.list(`${WORKFLOW}`)).toEqual([key]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ workflowId: WORKFLOW, step: 'demux', artifact: 'av', chunkIndex: 0, chunkCount: 4, key, sha256: sha256(bytes), byteLength: bytes.length });
    expect(received[0].manifest.producer).toEqual({ agent: 'owner', step: 'split' });
  });

  it('accepts the matroska part types and pads the key to 5 digits', async () => {
    const { app } = handoffApp(store);
    const url = `/v1/handoffs/${WORKFLOW}/picture-fx/picture/42`;
    const manifest = manifestFor(bytes, { step: 'picture-fx', artifact: 'picture', chunkIndex: 42, chunkCount: 43 });
    const res = await post(app, url, manifest, bytes, 'video/x-matroska').expect(201);
    expect(res.body.key).toBe(`${WORKFLOW}/picture-fx/picture/00042.mkv`);
    expect(chunkKey({ workflowId: WORKFLOW, step: 'picture-fx', artifact: 'picture', chunkIndex: 42 })).toBe(res.body.key);
  });

  it('answers a repeated chunk 200 duplicate without rewriting or re-reporting it', async () => {
    const { app, received } = handoffApp(store);
    await post(app, URL0, manifestFor(bytes), bytes).expect(201);
    const path = store.pathOf(`${WORKFLOW}/demux/av/00000.mkv`);
    const before = await stat(path);
    const res = await post(app, URL0, manifestFor(bytes), bytes).expect(200);
    expect(res.body).toMatchObject({ status: 'duplicate', sha256: sha256(bytes) });
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(received).toHaveLength(1);
  });

  it('still answers duplicate after a restart (durable slot index)', async () => {
    await post(handoffApp(store).app, URL0, manifestFor(bytes), bytes).expect(201);
    const restarted = handoffApp(new FsObjectStore(store.root));
    await post(restarted.app, URL0, manifestFor(bytes), bytes).expect(200, /duplicate/);
    expect(restarted.received).toHaveLength(0);
  });

  it('refuses a different digest for a filled slot with 409 SLOT_CONFLICT and keeps the first', async () => {
    const { app } = handoffApp(store);
    await post(app, URL0, manifestFor(bytes), bytes).expect(201);
    const other = Buffer.from('other bytes entirely');
    const res = await post(app, URL0, manifestFor(other), other).expect(409);
    expect(res.body.error.code).toBe('SLOT_CONFLICT');
    expect(await readFile(store.pathOf(`${WORKFLOW}/demux/av/00000.mkv`))).toEqual(bytes);
  });

  it('rejects a digest mismatch with 422 and leaves nothing in the store', async () => {
    const { app, received } = handoffApp(store);
    const res = await post(app, URL0, manifestFor(bytes, { sha256: 'a'.repeat(64) }), bytes).expect(422);
    expect(res.body.error.code).toBe('DIGEST_MISMATCH');
    expect(await allFiles(dir)).toEqual([]);
    expect(received).toHaveLength(0);
    // The slot stays free: the right bytes are accepted afterwards.
    await post(app, URL0, manifestFor(bytes), bytes).expect(201);
  });

  it.each([
    ['shorter', bytes.length + 10],
    ['longer', bytes.length - 10],
  ])('rejects a body %s than declared with 422 LENGTH_MISMATCH and leaves nothing', async (_what, declared) => {
    const { app } = handoffApp(store);
    const res = await post(app, URL0, manifestFor(bytes, { byteLength: declared }), bytes).expect(422);
    expect(res.body.error.code).toBe('LENGTH_MISMATCH');
    expect(await allFiles(dir)).toEqual([]);
  });

  it('undoes the store when onReceived fails, so a retry is treated as new', async () => {
    let fail = true;
    const { app, received } = handoffApp(store, {
      onReceived: (chunk) => {
        if (fail) throw new Error('queue exploded: /secret/path');
        received.push(chunk);
      },
    });
    const res = await post(app, URL0, manifestFor(bytes), bytes).expect(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(await allFiles(dir)).toEqual([]);
    fail = false;
    await post(app, URL0, manifestFor(bytes), bytes).expect(201);
    expect(received).toHaveLength(1);
  });

  it('passes an HttpError from onReceived through (e.g. 503 to make the sender retry)', async () => {
    const { app } = handoffApp(store, {
      onReceived: () => {
        throw new HttpError(503, 'SHUTTING_DOWN', 'agent is draining');
      },
    });
    const res = await post(app, URL0, manifestFor(bytes), bytes).expect(503);
    expect(res.body.error.code).toBe('SHUTTING_DOWN');
    expect(await allFiles(dir)).toEqual([]);
  });
});

describe('handoff router: refusals', () => {
  const expectError = async (res: request.Response, status: number, code: string) => {
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
    expect(typeof res.body.error.message).toBe('string');
    expect(await allFiles(dir)).toEqual([]);
  };

  it('404 UNKNOWN_WORKFLOW for another workflow id', async () => {
    const { app } = handoffApp(store);
    await expectError(await post(app, '/v1/handoffs/other-film/demux/av/0', manifestFor(bytes, { workflowId: 'other-film' }), bytes), 404, 'UNKNOWN_WORKFLOW');
  });

  it('404 UNKNOWN_STEP for a step or input this agent does not have', async () => {
    const { app } = handoffApp(store);
    await expectError(await post(app, `/v1/handoffs/${WORKFLOW}/grade/picture/0`, manifestFor(bytes, { step: 'grade', artifact: 'picture' }), bytes), 404, 'UNKNOWN_STEP');
    await expectError(await post(app, `/v1/handoffs/${WORKFLOW}/demux/sound/0`, manifestFor(bytes, { artifact: 'sound' }), bytes), 404, 'UNKNOWN_STEP');
  });

  it.each(['abc', '1.5', '100000', '00x'])('400 CHUNK_OUT_OF_RANGE for chunk index %s', async (index) => {
    const { app } = handoffApp(store);
    await expectError(await post(app, `/v1/handoffs/${WORKFLOW}/demux/av/${index}`, manifestFor(bytes), bytes), 400, 'CHUNK_OUT_OF_RANGE');
  });

  // The policy refuses these (the chunk segment of the RAW path is not a canonical decimal); the
  // receiver must too, or a call straight to the app would store `007` as chunk 7.
  it.each(['007', '%37', '+7', '7.0', '7?retry=1', '0x7'])('400 CHUNK_OUT_OF_RANGE for %s, which is not chunk 7, and nothing is stored', async (index) => {
    const { app, received } = handoffApp(store);
    await expectError(await post(app, `/v1/handoffs/${WORKFLOW}/demux/av/${index}`, manifestFor(bytes, { chunkIndex: 7, chunkCount: 8 }), bytes), 400, 'CHUNK_OUT_OF_RANGE');
    expect(received).toHaveLength(0);
    expect(await store.exists(`${WORKFLOW}/demux/av/00007.mkv`)).toBe(false);
  });

  it('takes the canonical /7 for chunk 7', async () => {
    const { app, received } = handoffApp(store);
    await post(app, `/v1/handoffs/${WORKFLOW}/demux/av/7`, manifestFor(bytes, { chunkIndex: 7, chunkCount: 8 }), bytes).expect(201);
    expect(received.map((r) => r.chunkIndex)).toEqual([7]);
  });

  it('400 CHUNK_OUT_OF_RANGE beyond maxChunks, by index or by the manifest chunkCount', async () => {
    const { app } = handoffApp(store, { maxChunks: 3 });
    await expectError(await post(app, `/v1/handoffs/${WORKFLOW}/demux/av/3`, manifestFor(bytes, { chunkIndex: 3 }), bytes), 400, 'CHUNK_OUT_OF_RANGE');
    await expectError(await post(app, URL0, manifestFor(bytes, { chunkCount: 4 }), bytes), 400, 'CHUNK_OUT_OF_RANGE');
  });

  it('415 UNSUPPORTED_MEDIA_TYPE for a non-multipart body or a wrong chunk part type', async () => {
    const { app } = handoffApp(store);
    await expectError(await request(app).post(URL0).send({ manifest: manifestFor(bytes) }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await request(app).post(URL0).set('content-type', 'application/octet-stream').send(bytes), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectError(await post(app, URL0, manifestFor(bytes), bytes, 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('400 MANIFEST_NOT_JSON', async () => {
    const { app } = handoffApp(store);
    await expectError(await post(app, URL0, '{not json', bytes), 400, 'MANIFEST_NOT_JSON');
  });

  it.each([
    ['a missing field', (m: Record<string, unknown>) => delete m.sha256, 'sha256'],
    ['a bad digest', (m: Record<string, unknown>) => (m.sha256 = 'XYZ'), 'sha256'],
    ['a negative index', (m: Record<string, unknown>) => (m.chunkIndex = -1), 'chunkIndex'],
    ['a zero count', (m: Record<string, unknown>) => (m.chunkCount = 0), 'chunkCount'],
    ['an index past the count', (m: Record<string, unknown>) => (m.chunkIndex = m.chunkCount), 'chunkCount'],
    ['an unknown field', (m: Record<string, unknown>) => (m.owner = 'me'), 'owner'],
    ['a wrong version', (m: Record<string, unknown>) => (m.version = 2), 'version'],
    ['no container', (m: Record<string, unknown>) => (m.media = {}), 'container'],
    ['a bad producer', (m: Record<string, unknown>) => (m.producer = { agent: '../x', step: 'split' }), 'producer.agent'],
  ])('400 MANIFEST_INVALID naming the field for %s', async (_what, mutate, field) => {
    const { app } = handoffApp(store);
    const manifest = manifestFor(bytes) as unknown as Record<string, unknown>;
    mutate(manifest);
    const res = await post(app, URL0, manifest, bytes);
    await expectError(res, 400, 'MANIFEST_INVALID');
    expect(res.body.error.message).toContain(field);
  });

  it('accepts the reserved provenance object', async () => {
    const { app, received } = handoffApp(store);
    await post(app, URL0, { ...manifestFor(bytes), provenance: { statement: 'later' } }, bytes).expect(201);
    expect(received[0].manifest.provenance).toEqual({ statement: 'later' });
  });

  it('400 MANIFEST_MISMATCH when the manifest names another slot than the URL', async () => {
    const { app } = handoffApp(store);
    const res = await post(app, URL0, manifestFor(bytes, { chunkIndex: 1 }), bytes);
    await expectError(res, 400, 'MANIFEST_MISMATCH');
    expect(res.body.error.message).toContain('chunkIndex');
  });

  it('400 MANIFEST_MISSING when the manifest comes after the file or not at all', async () => {
    const { app } = handoffApp(store);
    const after = await request(app)
      .post(URL0)
      .attach('chunk', bytes, { filename: '00000.mkv', contentType: 'application/octet-stream' })
      .field('manifest', JSON.stringify(manifestFor(bytes)));
    await expectError(after, 400, 'MANIFEST_MISSING');
    const none = await request(app).post(URL0).attach('chunk', bytes, { filename: '00000.mkv', contentType: 'application/octet-stream' });
    await expectError(none, 400, 'MANIFEST_MISSING');
  });

  it('400 CHUNK_MISSING without a file part', async () => {
    const { app } = handoffApp(store);
    await expectError(await request(app).post(URL0).field('manifest', JSON.stringify(manifestFor(bytes))), 400, 'CHUNK_MISSING');
  });

  it('400 UNEXPECTED_PART for a file under another name', async () => {
    const { app } = handoffApp(store);
    const res = await request(app)
      .post(URL0)
      .field('manifest', JSON.stringify(manifestFor(bytes)))
      .attach('video', bytes, { filename: '00000.mkv', contentType: 'application/octet-stream' });
    await expectError(res, 400, 'UNEXPECTED_PART');
  });

  it('413 CHUNK_TOO_LARGE when the body runs past the limit, or the manifest declares too much', async () => {
    const { app } = handoffApp(store, { limits: { fileSize: 1024 } });
    const big = Buffer.alloc(8192, 7);
    // Lies about its size: caught by the streaming limit, not by the manifest.
    await expectError(await post(app, URL0, manifestFor(big, { byteLength: 1024 }), big), 413, 'CHUNK_TOO_LARGE');
    await expectError(await post(app, URL0, manifestFor(big), big), 413, 'CHUNK_TOO_LARGE');
  });

  it('413 TOO_MANY_PARTS for a part after the chunk, and nothing is kept', async () => {
    const { app, received } = handoffApp(store);
    const res = await post(app, URL0, manifestFor(bytes), bytes).field('extra', 'x');
    await expectError(res, 413, 'TOO_MANY_PARTS');
    expect(received).toHaveLength(0);
    await post(app, URL0, manifestFor(bytes), bytes).expect(201);
  });

  it('413 TOO_MANY_FIELDS and 413 MANIFEST_TOO_LARGE from the field limits', async () => {
    const fields = handoffApp(store, { limits: { fields: 1, parts: 5 } });
    const res = await request(fields.app).post(URL0).field('manifest', JSON.stringify(manifestFor(bytes))).field('extra', 'x').attach('chunk', bytes, { filename: 'c.mkv', contentType: 'application/octet-stream' });
    await expectError(res, 413, 'TOO_MANY_FIELDS');
    const size = handoffApp(store, { limits: { fieldSize: 100 } });
    await expectError(await post(size.app, URL0, manifestFor(bytes), bytes), 413, 'MANIFEST_TOO_LARGE');
  });

  it('400 UNEXPECTED_PART for an extra field when the limits would allow it', async () => {
    const { app } = handoffApp(store, { limits: { fields: 3, parts: 5 } });
    const res = await request(app).post(URL0).field('manifest', JSON.stringify(manifestFor(bytes))).field('extra', 'x').attach('chunk', bytes, { filename: 'c.mkv', contentType: 'application/octet-stream' });
    await expectError(res, 400, 'UNEXPECTED_PART');
  });

  it('400 MALFORMED_MULTIPART for a broken body', async () => {
    const { app } = handoffApp(store);
    const res = await request(app).post(URL0).set('content-type', 'multipart/form-data; boundary=xyz').send(Buffer.from('--xyz\r\nContent-Disposition: form-data; name="manifest"\r\n\r\n{'));
    await expectError(res, 400, 'MALFORMED_MULTIPART');
  });

  it('405 for other methods on the handoff route', async () => {
    const { app } = handoffApp(store);
    await expectError(await request(app).get(URL0), 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('handoff router: path traversal', () => {
  it.each([
    `/v1/handoffs/${WORKFLOW}/../av/0`,
    `/v1/handoffs/${WORKFLOW}/demux/../0`,
    `/v1/handoffs/../demux/av/0`,
    `/v1/handoffs/${WORKFLOW}/demux/av/..`,
    `/v1/handoffs/${WORKFLOW}/%2e%2e/av/0`,
    `/v1/handoffs/${WORKFLOW}/demux/%2E%2E/0`,
    `/v1/handoffs/${WORKFLOW}/demux%2F..%2F..%2Fetc/av/0`,
    `/v1/handoffs/${WORKFLOW}/demux/av%5C..%5C..%5Cx/0`,
    `/v1/handoffs/${WORKFLOW}/demux/av/0%2F..%2F..%2Fx`,
    `/v1/handoffs/${WORKFLOW}/demux/av/../../../x/0`,
    `/v1/handoffs/${WORKFLOW}/demux/av/../0`,
    `/v1/handoffs/${WORKFLOW}//av/0`,
  ])('400 UNSAFE_NAME for %s and nothing is written anywhere', async (path) => {
    const { app, received } = handoffApp(store);
    const server = await listen(app);
    try {
      const frame = multipartFrame(manifestFor(bytes));
      const res = await rawPost(server.port, path, Buffer.concat([frame.head, bytes, frame.tail]), { 'content-type': frame.contentType });
      expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 400, code: 'UNSAFE_NAME' });
      expect(await allFiles(dir)).toEqual([]);
      expect(received).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});

describe('handoff router: connections', () => {
  it('keeps nothing when the client disconnects mid-upload, and keeps serving', async () => {
    const { app, received } = handoffApp(store);
    const server = await listen(app);
    try {
      const data = Buffer.alloc(4 * 1024 * 1024, 3);
      const frame = multipartFrame(manifestFor(data));
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: URL0, headers: { 'content-type': frame.contentType, 'content-length': frame.contentLength } });
      req.on('error', () => undefined);
      req.write(frame.head);
      req.write(data.subarray(0, 1024 * 1024));
      // Wait until bytes really reached the store, then vanish.
      await eventually(async () => (await allFiles(dir)).some((f) => f.includes('.partial-')), 'a partial object');
      req.destroy();
      await eventually(async () => (await allFiles(dir)).length === 0, 'cleanup of the partial object');
      expect(received).toHaveLength(0);
      const full = Buffer.concat([frame.head, data, frame.tail]);
      const res = await rawPost(server.port, URL0, full, { 'content-type': frame.contentType });
      expect(res.status).toBe(201);
      expect(received).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('lets only one of two concurrent uploads of a slot store (the other waits, then sees the result)', async () => {
    const { app, received } = handoffApp(store);
    const server = await listen(app);
    try {
      const data = Buffer.alloc(1024 * 1024, 9);
      const other = Buffer.alloc(1024 * 1024, 8);
      const first = multipartFrame(manifestFor(data));
      const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST', path: URL0, headers: { 'content-type': first.contentType, 'content-length': first.contentLength } });
      const firstAnswer = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      req.write(first.head);
      req.write(data.subarray(0, 512 * 1024));
      await eventually(async () => (await allFiles(dir)).some((f) => f.includes('.partial-')), 'the first upload to hold the slot');

      // Same bytes and different bytes arrive while the first one is still streaming.
      const same = multipartFrame(manifestFor(data));
      const conflicting = multipartFrame(manifestFor(other));
      const sameAnswer = rawPost(server.port, URL0, Buffer.concat([same.head, data, same.tail]), { 'content-type': same.contentType });
      const conflictAnswer = rawPost(server.port, URL0, Buffer.concat([conflicting.head, other, conflicting.tail]), { 'content-type': conflicting.contentType });
      // Let both reach the slot lock (they wait there) before the first upload finishes.
      await eventually(async () => (await new Promise<number>((r) => server.server.getConnections((_e, n) => r(n)))) === 3, 'three connections');
      await new Promise((r) => setTimeout(r, 200));
      req.end(Buffer.concat([data.subarray(512 * 1024), first.tail]));

      expect(await firstAnswer).toBe(201);
      expect((await sameAnswer).body.status).toBe('duplicate');
      expect((await conflictAnswer).body.error?.code).toBe('SLOT_CONFLICT');
      expect(received).toHaveLength(1);
      expect(sha256(await readFile(store.pathOf(`${WORKFLOW}/demux/av/00000.mkv`)))).toBe(sha256(data));
      expect((await allFiles(join(dir, 'store'))).filter((f) => f.includes('.partial-'))).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
