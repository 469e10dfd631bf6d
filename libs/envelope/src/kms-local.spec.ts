import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The local KMS is the dev/test platform: the envelope lib itself never imports it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startLocalKms, type LocalKms } from '@reelmesh/kms-local';
import type { ObjectContext } from '@reelmesh/storage';
import { DataKeyCache, KmsDataKeyProvider, SealedObjectStore } from './index';
import { collector, CONTEXT, expectEnvelopeError, open, seal } from './test-support';

const principals = {
  AKIDVFX1: { secretAccessKey: 'vfx-1-secret', principal: 'agent/vfx-1' },
  AKIDVFX2: { secretAccessKey: 'vfx-2-secret', principal: 'agent/vfx-2' },
  AKIDCOLOR: { secretAccessKey: 'color-secret', principal: 'agent/color' },
};
const ALIAS = 'alias/envelope-test';

describe('envelope over the local KMS (real SDK, SigV4, key policy)', () => {
  let dataDir: string;
  let root: string;
  let kms: LocalKms;
  const providers: KmsDataKeyProvider[] = [];

  const providerFor = (accessKeyId: keyof typeof principals, options: { allowedKeyIds?: string[]; keyId?: string } = {}) => {
    const provider = new KmsDataKeyProvider({
      endpoint: kms.endpoint,
      region: kms.region,
      credentials: { accessKeyId, secretAccessKey: principals[accessKeyId].secretAccessKey },
      keyId: ALIAS,
      maxAttempts: 1,
      ...options,
    });
    providers.push(provider);
    return provider;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'envelope-kms-'));
    root = await mkdtemp(join(tmpdir(), 'envelope-kms-store-'));
    kms = await startLocalKms({ dataDir, principals });
    await kms.admin.createKey({
      alias: ALIAS,
      description: 'envelope integration test',
      policy: {
        version: 1,
        statements: [
          // Each agent seals and opens its own objects; vfx-2 may also open what names it as a recipient.
          { principals: ['agent/*'], actions: ['GenerateDataKey', 'Decrypt'], contextEquals: { agent: '${agent}' } },
          { principals: ['agent/*'], actions: ['Decrypt'], contextListContains: { recipients: '${agent}' } },
        ],
      },
    });
  });

  afterAll(async () => {
    for (const provider of providers) provider.destroy();
    await kms?.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  it('seals with GenerateDataKey and opens with Decrypt, counting calls', async () => {
    const provider = providerFor('AKIDVFX1');
    const plaintext = randomBytes(200_000);
    const sealed = await seal(plaintext, { provider });
    const reader = providerFor('AKIDVFX1', { allowedKeyIds: [kms.admin.describeKey(ALIAS).arn] });
    const opened = await open(sealed, { provider: reader });
    expect(opened.equals(plaintext)).toBe(true);
    expect(provider.stats).toMatchObject({ generateDataKey: 1, decrypt: 0, failures: 0 });
    expect(reader.stats).toMatchObject({ generateDataKey: 0, decrypt: 1 });
  });

  it('the KMS enforces the context: a recipient opens, a stranger is denied', async () => {
    const sealed = await seal(randomBytes(1000), { provider: providerFor('AKIDVFX1'), context: { ...CONTEXT, recipients: 'vfx-2' } });
    const expectedContext = { ...CONTEXT, recipients: 'vfx-2' };
    const key = kms.admin.describeKey(ALIAS).arn;
    expect((await open(sealed, { provider: providerFor('AKIDVFX2', { allowedKeyIds: [key] }), expectedContext })).length).toBe(1000);
    await expectEnvelopeError(open(sealed, { provider: providerFor('AKIDCOLOR', { allowedKeyIds: [key] }), expectedContext }), 'ENVELOPE_KMS_DENIED');
  });

  it('refuses headers naming a key the reader does not trust, before calling KMS', async () => {
    const sealed = await seal(randomBytes(10), { provider: providerFor('AKIDVFX1') });
    // A reader of another key, which it names by ARN (nothing to resolve): the header's key is not one it trusts.
    const other = await kms.admin.createKey({ description: 'another key', policy: { version: 1, statements: [{ principals: ['agent/*'], actions: ['GenerateDataKey', 'Decrypt'] }] } });
    const reader = providerFor('AKIDVFX1', { keyId: other.arn });
    await expectEnvelopeError(open(sealed, { provider: reader }), 'ENVELOPE_KEY_NOT_ALLOWED');
    expect(reader.stats.decrypt).toBe(0);
    // An alias it trusts but may not DescribeKey (this key's policy grants no DescribeKey) fails closed too.
    const aliasReader = providerFor('AKIDVFX1', { keyId: other.arn, allowedKeyIds: [ALIAS] });
    await expectEnvelopeError(open(sealed, { provider: aliasReader }), 'ENVELOPE_KMS_DENIED');
    expect(aliasReader.stats.decrypt).toBe(0);
  });

  it('a cache turns many objects into one GenerateDataKey and repeated reads into one Decrypt', async () => {
    const kmsProvider = providerFor('AKIDVFX1');
    const cache = new DataKeyCache(kmsProvider, { maxObjectsPerKey: 10 });
    const store = new SealedObjectStore({ root, provider: cache });
    const context: ObjectContext = { workflowId: 'feature-film', step: 'demux', agent: 'vfx-1' };
    const chunks = Array.from({ length: 12 }, () => randomBytes(5000));
    await Promise.all(
      chunks.map(async (data, i) => {
        const writer = await store.createWriter(`feature-film/demux/av/${String(i).padStart(5, '0')}.mkv`, context);
        await pipeline(Readable.from([data]), writer.stream);
        await writer.commit();
      }),
    );
    expect(kmsProvider.stats.generateDataKey).toBe(2); // 12 objects, 10 per key
    for (let round = 0; round < 2; round++) {
      for (const [i, data] of chunks.entries()) {
        const out: Buffer[] = [];
        await pipeline(await store.createReadStream(`feature-film/demux/av/${String(i).padStart(5, '0')}.mkv`, context), collector(out));
        expect(Buffer.concat(out).equals(data)).toBe(true);
      }
    }
    expect(kmsProvider.stats.decrypt).toBe(2); // one per distinct data key, then cached
    cache.clear();
  });

  it('fails closed when the KMS stops: no file is left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'envelope-kms-down-'));
    const own = await startLocalKms({ dataDir: await mkdtemp(join(dir, 'kms-')), principals });
    const provider = new KmsDataKeyProvider({
      endpoint: own.endpoint,
      region: own.region,
      credentials: { accessKeyId: 'AKIDVFX1', secretAccessKey: principals.AKIDVFX1.secretAccessKey },
      keyId: ALIAS,
      maxAttempts: 1,
    });
    providers.push(provider);
    await own.stop();
    const storeRoot = join(dir, 'volume');
    const store = new SealedObjectStore({ root: storeRoot, provider });
    await expectEnvelopeError(store.createWriter('a/b.mkv', { workflowId: 'w', step: 's', agent: 'vfx-1' }), 'ENVELOPE_KMS_UNAVAILABLE');
    await expect(readdir(storeRoot)).rejects.toThrow(/ENOENT/);
    await rm(dir, { recursive: true, force: true });
  });
});
