import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectContext } from '@reelmesh/storage';
import { KmsDataKeyProvider, objectEncryptionContext, readHeader, SealedObjectStore } from './index';
import { collector, expectEnvelopeError, staticProvider } from './test-support';

const ctx: ObjectContext = { workflowId: 'feature-film', step: 'demux', agent: 'vfx-1', recipients: ['vfx-3', 'vfx-2'] };
const KEY = 'feature-film/demux/av/00003.mkv';

async function writeObject(store: SealedObjectStore, key: string, data: Buffer, context = ctx) {
  const writer = await store.createWriter(key, context);
  await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), writer.stream);
  return writer.commit();
}

async function readObject(store: SealedObjectStore, key: string, context = ctx): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(await store.createReadStream(key, context), collector(out));
  return Buffer.concat(out);
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

describe('SealedObjectStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'envelope-store-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores sealed bytes and reads the plaintext back; the digest is of the plaintext', async () => {
    const store = new SealedObjectStore({ root, provider: staticProvider() });
    const data = randomBytes(300_000);
    const committed = await writeObject(store, KEY, data);
    expect(committed.byteLength).toBe(data.length);
    // The volume's meter (the dashboard's "bytes sealed") counts plaintext in, over every object.
    expect(store.sealedBytes).toBe(data.length);
    await writeObject(store, `${KEY}.2`, data.subarray(0, 12_345));
    expect(store.sealedBytes).toBe(data.length + 12_345);
    await store.remove(`${KEY}.2`);
    const onDisk = await readFile(join(root, KEY));
    expect(onDisk.includes(data.subarray(5000, 5032))).toBe(false);
    expect(readHeader(onDisk).context).toEqual(objectEncryptionContext(KEY, ctx));
    expect((await readObject(store, KEY)).equals(data)).toBe(true);
    expect(await store.list('feature-film')).toEqual([KEY]);
    expect(await store.exists(KEY)).toBe(true);
    await store.remove(KEY);
    expect(await store.exists(KEY)).toBe(false);
  });

  it('binds workflow, step, agent, recipients (any order) and the object name', async () => {
    const store = new SealedObjectStore({ root, provider: staticProvider() });
    const data = randomBytes(1000);
    await writeObject(store, KEY, data);
    expect((await readObject(store, KEY, { ...ctx, recipients: ['vfx-2', 'vfx-3'] })).equals(data)).toBe(true);
    for (const other of [{ ...ctx, step: 'grade' }, { ...ctx, agent: 'vfx-2' }, { ...ctx, recipients: ['vfx-2'] }, { ...ctx, workflowId: 'other' }]) {
      await expectEnvelopeError(store.createReadStream(KEY, other), 'ENVELOPE_CONTEXT_MISMATCH');
    }
    // An insider renaming chunk 3 to chunk 4 does not get chunk 3 accepted as chunk 4.
    await mkdir(join(root, 'feature-film/demux/av'), { recursive: true });
    await rename(join(root, KEY), join(root, 'feature-film/demux/av/00004.mkv'));
    await expectEnvelopeError(store.createReadStream('feature-film/demux/av/00004.mkv', ctx), 'ENVELOPE_CONTEXT_MISMATCH');
  });

  it('a corrupted file fails the read stream with ENVELOPE_TAMPERED', async () => {
    const store = new SealedObjectStore({ root, provider: staticProvider() });
    await writeObject(store, KEY, randomBytes(200_000));
    const { writeFile } = await import('node:fs/promises');
    const bytes = await readFile(join(root, KEY));
    bytes[bytes.length - 70_000] ^= 4;
    await writeFile(join(root, KEY), bytes);
    await expectEnvelopeError(readObject(store, KEY), 'ENVELOPE_TAMPERED');
  });

  it('fails closed with ENVELOPE_KMS_UNAVAILABLE and leaves no file when KMS is unreachable', async () => {
    const port = await closedPort();
    const provider = new KmsDataKeyProvider({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      keyId: 'alias/owner-workflow',
      maxAttempts: 1,
    });
    const store = new SealedObjectStore({ root, provider });
    await expectEnvelopeError(store.createWriter(KEY, ctx), 'ENVELOPE_KMS_UNAVAILABLE');
    expect(await filesUnder(root)).toEqual([]);
    expect(provider.stats).toMatchObject({ generateDataKey: 1, failures: 1 });
    provider.destroy();
  });

  it('an aborted write leaves nothing', async () => {
    const store = new SealedObjectStore({ root, provider: staticProvider() });
    const writer = await store.createWriter(KEY, ctx);
    writer.stream.write(randomBytes(100_000));
    await writer.abort(new Error('client went away'));
    expect(await filesUnder(root)).toEqual([]);
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
