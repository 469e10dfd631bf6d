import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import express from 'express';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FsObjectStore } from '@reelmesh/storage';
import { backoffDelay } from './backoff';
import { HandoffError } from './handoff-error';
import { buildManifest } from './manifest';
import { sendChunk, type SendChunkOptions } from './send-chunk';
import { allFiles, eventually, handoffApp, listen, manifestFor, sha256, tempStore, WORKFLOW } from './spec-helpers';

const bytes = Buffer.from('chunk payload '.repeat(5000));
const fast = { attempts: 5, baseDelayMs: 5, maxDelayMs: 20 };

let dir: string;
let store: FsObjectStore;
let cleanup: () => Promise<void>;
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  ({ dir, store, cleanup } = await tempStore());
});
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  await cleanup();
});

async function serve(app: express.Express, port = 0) {
  const server = await listen(app, port);
  closers.push(server.close);
  return server;
}

/** open() that counts how often the sender (re)opened the source. */
function opener(data: Buffer = bytes) {
  const counter = { opens: 0, open: async () => (counter.opens++, Readable.from([data.subarray(0, 1000), data.subarray(1000)])) };
  return counter;
}

const send = (port: number, extra: Partial<SendChunkOptions> = {}) => {
  const source = opener();
  return {
    source,
    result: sendChunk({ baseUrl: `http://127.0.0.1:${port}`, manifest: manifestFor(bytes), open: source.open, retry: fast, ...extra }),
  };
};

describe('sendChunk', () => {
  it('hands a chunk over (exact Content-Length, no chunked encoding, Host header) and then gets duplicate', async () => {
    const seen: Array<Record<string, string | undefined>> = [];
    const { app: handoff } = handoffApp(store);
    const app = express();
    app.use((req, _res, next) => {
      seen.push({ host: req.headers.host, length: req.headers['content-length'], te: req.headers['transfer-encoding'], trace: req.headers['x-trace'] as string });
      next();
    });
    app.use(handoff);
    const { port } = await serve(app);

    const first = send(port, { hostHeader: 'vfx-1', headers: { 'x-trace': 'abc' } });
    expect(await first.result).toEqual({ status: 'stored', httpStatus: 201, attempts: 1 });
    expect(sha256(await readFile(store.pathOf(`${WORKFLOW}/demux/av/00000.mkv`)))).toBe(sha256(bytes));
    expect(seen[0]).toMatchObject({ host: 'vfx-1', te: undefined, trace: 'abc' });
    expect(Number(seen[0].length)).toBeGreaterThan(bytes.length);

    expect(await send(port).result).toEqual({ status: 'duplicate', httpStatus: 200, attempts: 1 });
  });

  it('retries a server that answers 503 twice, re-opening the source each time', async () => {
    const { app: handoff } = handoffApp(store);
    let calls = 0;
    const app = express();
    app.use((_req, res, next) => {
      if (++calls <= 2) res.status(503).json({ error: { code: 'BUSY', message: 'try later' } });
      else next();
    });
    app.use(handoff);
    const { port } = await serve(app);
    const { source, result } = send(port);
    expect(await result).toEqual({ status: 'stored', httpStatus: 201, attempts: 3 });
    expect(source.opens).toBe(3);
    expect(calls).toBe(3);
    expect(sha256(await readFile(store.pathOf(`${WORKFLOW}/demux/av/00000.mkv`)))).toBe(sha256(bytes));
  });

  it('does not retry a 409 and reports its code and message', async () => {
    const { app } = handoffApp(store);
    const { port } = await serve(app);
    const other = Buffer.from('different bytes');
    await sendChunk({ baseUrl: `http://127.0.0.1:${port}`, manifest: manifestFor(other), open: async () => Readable.from([other]), retry: fast });
    const { source, result } = send(port);
    const error = await result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HandoffError);
    expect(error).toMatchObject({ status: 409, code: 'SLOT_CONFLICT', attempts: 1 });
    expect((error as Error).message).toMatch(/different digest/);
    expect(source.opens).toBe(1);
  });

  it('retries ECONNREFUSED until the receiver comes up', async () => {
    const probe = await listen(express());
    const port = probe.port;
    await probe.close(); // nothing listens here now
    const { app } = handoffApp(store);
    const source = opener();
    let started: Promise<unknown> | undefined;
    const result = sendChunk({
      baseUrl: `http://127.0.0.1:${port}`,
      manifest: manifestFor(bytes),
      retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 100 },
      open: async () => {
        // The first attempt was refused; bring the receiver up before the next one.
        if (source.opens === 1) started = serve(app, port);
        return source.open();
      },
    });
    const outcome = await result;
    await started;
    expect(outcome.status).toBe('stored');
    expect(outcome.attempts).toBeGreaterThanOrEqual(2);
    expect(await store.exists(`${WORKFLOW}/demux/av/00000.mkv`)).toBe(true);
  });

  it('gives up after the configured attempts with a clear error (network)', async () => {
    const probe = await listen(express());
    await probe.close();
    const { source, result } = send(probe.port, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    const error = (await result.catch((e: unknown) => e)) as HandoffError;
    expect(error).toBeInstanceOf(HandoffError);
    expect(error).toMatchObject({ code: 'RETRIES_EXHAUSTED', attempts: 3, status: undefined });
    expect(error.message).toMatch(/gave up after 3 attempts.*ECONNREFUSED/);
    expect(source.opens).toBe(3);
  });

  it('gives up after the configured attempts with a clear error (HTTP 503)', async () => {
    const app = express();
    app.use((_req, res) => void res.status(503).json({ error: { code: 'SHUTTING_DOWN', message: 'draining' } }));
    const { port } = await serve(app);
    const error = (await send(port, { retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }).result.catch((e: unknown) => e)) as HandoffError;
    expect(error).toMatchObject({ code: 'RETRIES_EXHAUSTED', attempts: 2, status: 503 });
    expect(error.message).toMatch(/503 SHUTTING_DOWN: draining/);
  });

  it('refuses a source that does not match manifest.byteLength, and the receiver keeps nothing', async () => {
    const { app, received } = handoffApp(store);
    const { port } = await serve(app);
    const short = sendChunk({ baseUrl: `http://127.0.0.1:${port}`, manifest: manifestFor(bytes), open: async () => Readable.from([bytes.subarray(0, 100)]), retry: fast });
    await expect(short).rejects.toMatchObject({ code: 'SOURCE_LENGTH_MISMATCH' });
    const long = sendChunk({ baseUrl: `http://127.0.0.1:${port}`, manifest: manifestFor(bytes), open: async () => Readable.from([bytes, bytes]), retry: fast });
    await expect(long).rejects.toMatchObject({ code: 'SOURCE_LENGTH_MISMATCH' });
    await eventually(async () => (await allFiles(dir)).length === 0, 'receiver cleanup');
    expect(received).toHaveLength(0);
  });

  it('stops when the signal aborts', async () => {
    const probe = await listen(express());
    await probe.close();
    const controller = new AbortController();
    const { result } = send(probe.port, { signal: controller.signal, retry: { attempts: 50, baseDelayMs: 50, maxDelayMs: 50 } });
    controller.abort(new Error('run cancelled'));
    await expect(result).rejects.toThrow('run cancelled');
  });

  it('validates the manifest before connecting', async () => {
    const bad = { ...manifestFor(bytes), sha256: 'nope' };
    await expect(sendChunk({ baseUrl: 'http://127.0.0.1:9', manifest: bad, open: async () => Readable.from([bytes]) })).rejects.toMatchObject({
      code: 'MANIFEST_INVALID',
    });
  });
});

describe('buildManifest and backoff', () => {
  it('builds a version-1 manifest and rejects a bad one naming the field', () => {
    const m = buildManifest({ ...manifestFor(bytes), version: undefined });
    expect(m.version).toBe(1);
    expect(() => buildManifest({ ...manifestFor(bytes), chunkIndex: 4, chunkCount: 4 })).toThrow(/chunkIndex/);
  });

  it('grows exponentially within [ceiling/2, ceiling] and caps at maxDelayMs', () => {
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(policy, 1, () => 0)).toBe(50);
    expect(backoffDelay(policy, 1, () => 1)).toBe(100);
    expect(backoffDelay(policy, 3, () => 1)).toBe(400);
    expect(backoffDelay(policy, 9, () => 0)).toBe(500);
    expect(backoffDelay(policy, 9, () => 1)).toBe(1000);
  });
});
