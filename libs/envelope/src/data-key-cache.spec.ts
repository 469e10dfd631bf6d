import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataKeyCache, type DataKey, type DataKeyProvider, type UnwrapRequest } from './index';
import { CONTEXT, open, seal } from './test-support';

/** An inner provider that remembers every key buffer it handed to the cache. */
class RecordingProvider implements DataKeyProvider {
  generated: Buffer[] = [];
  unwrapped: Buffer[] = [];
  private readonly keys = new Map<string, Buffer>();
  async generate(): Promise<DataKey> {
    const plaintextKey = randomBytes(32);
    const wrappedKey = randomBytes(16);
    this.keys.set(wrappedKey.toString('hex'), Buffer.from(plaintextKey));
    this.generated.push(plaintextKey);
    return { keyId: 'k', plaintextKey, wrappedKey };
  }
  async unwrap(request: UnwrapRequest): Promise<Buffer> {
    const key = Buffer.from(this.keys.get(request.wrappedKey.toString('hex'))!);
    this.unwrapped.push(key);
    return key;
  }
}

const zeroed = (b: Buffer) => b.every((byte) => byte === 0);
const partitionA = { workflow: 'w', step: 'demux', agent: 'vfx-1' };
const partitionB = { workflow: 'w', step: 'grade', agent: 'color' };

describe('DataKeyCache', () => {
  it('reuses a generated key per encryption context and hands out copies', async () => {
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner);
    const a1 = await cache.generate(partitionA);
    const a2 = await cache.generate({ ...partitionA });
    const b1 = await cache.generate(partitionB);
    expect(inner.generated.length).toBe(2);
    expect(a1.plaintextKey.equals(a2.plaintextKey)).toBe(true);
    expect(a1.wrappedKey.equals(a2.wrappedKey)).toBe(true);
    expect(a1.plaintextKey.equals(b1.plaintextKey)).toBe(false);
    a1.plaintextKey.fill(0); // a caller zeroing its copy must not damage the cache
    expect((await cache.generate(partitionA)).plaintextKey.equals(inner.generated[0])).toBe(true);
    expect(cache.stats).toMatchObject({ generateHits: 2, generateMisses: 2 });
  });

  it('retires a key after maxObjectsPerKey objects and zeroes it', async () => {
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner, { maxObjectsPerKey: 3 });
    for (let i = 0; i < 3; i++) await cache.generate(partitionA);
    expect(inner.generated.length).toBe(1);
    expect(zeroed(inner.generated[0])).toBe(true);
    await cache.generate(partitionA);
    expect(inner.generated.length).toBe(2);
    expect(zeroed(inner.generated[1])).toBe(false);
    expect(cache.stats.evictions.objects).toBe(1);
  });

  it('retires a key once maxBytesPerKey plaintext bytes were sealed under it', async () => {
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner, { maxBytesPerKey: 100_000 });
    const context = { ...CONTEXT };
    await seal(randomBytes(60_000), { provider: cache, context });
    await seal(randomBytes(30_000), { provider: cache, context });
    expect(inner.generated.length).toBe(1);
    expect(zeroed(inner.generated[0])).toBe(false);
    await seal(randomBytes(20_000), { provider: cache, context }); // crosses 100 000
    expect(zeroed(inner.generated[0])).toBe(true);
    expect(cache.stats.evictions.bytes).toBe(1);
    await seal(randomBytes(10), { provider: cache, context });
    expect(inner.generated.length).toBe(2);
  });

  it('retires generated and unwrapped keys after maxAgeMs (injected clock) and zeroes them', async () => {
    let now = 1_000;
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner, { maxAgeMs: 60_000, now: () => now });
    const key = await cache.generate(partitionA);
    await cache.unwrap({ keyId: 'k', wrappedKey: key.wrappedKey, context: partitionA });
    now += 59_999;
    await cache.generate(partitionA);
    await cache.unwrap({ keyId: 'k', wrappedKey: key.wrappedKey, context: partitionA });
    expect(inner.generated.length).toBe(1);
    expect(inner.unwrapped.length).toBe(1);
    now += 1;
    cache.sweep();
    expect(zeroed(inner.generated[0])).toBe(true);
    expect(zeroed(inner.unwrapped[0])).toBe(true);
    expect(cache.size).toEqual({ generated: 0, unwrapped: 0 });
    expect(cache.stats.evictions.age).toBe(2);
    await cache.generate(partitionA);
    expect(inner.generated.length).toBe(2);
  });

  it('caches unwrapped keys per (key id, wrapped key, context) with an LRU bound', async () => {
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner, { maxUnwrapEntries: 2, maxObjectsPerKey: 1 });
    const keys = [await cache.generate(partitionA), await cache.generate(partitionA), await cache.generate(partitionA)];
    const request = (i: number) => ({ keyId: 'k', wrappedKey: keys[i].wrappedKey, context: partitionA });
    expect((await cache.unwrap(request(0))).equals(inner.generated[0])).toBe(false); // generated[0] was zeroed on retirement
    await cache.unwrap(request(0));
    expect(inner.unwrapped.length).toBe(1);
    await cache.unwrap(request(1));
    await cache.unwrap(request(0)); // touch 0: 1 is now the least recently used
    await cache.unwrap(request(2)); // evicts 1
    expect(zeroed(inner.unwrapped[1])).toBe(true);
    expect(zeroed(inner.unwrapped[0])).toBe(false);
    await cache.unwrap({ ...request(0), context: partitionB }); // another context is another entry
    expect(inner.unwrapped.length).toBe(4);
    expect(cache.stats).toMatchObject({ unwrapHits: 2, unwrapMisses: 4 });
  });

  it('bounds the number of contexts and clear() zeroes everything', async () => {
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner, { maxEntries: 2 });
    for (const step of ['a', 'b', 'c']) await cache.generate({ ...partitionA, step });
    expect(zeroed(inner.generated[0])).toBe(true);
    expect(cache.size.generated).toBe(2);
    cache.clear();
    expect(inner.generated.every(zeroed)).toBe(true);
    expect(cache.size).toEqual({ generated: 0, unwrapped: 0 });
  });

  it('objects sealed under one cached key still open, each with its own frame key', async () => {
    const inner = new RecordingProvider();
    const cache = new DataKeyCache(inner);
    const plaintexts = [randomBytes(1000), randomBytes(1000)];
    const sealed = await Promise.all(plaintexts.map((p) => seal(p, { provider: cache })));
    expect(inner.generated.length).toBe(1);
    for (const [i, envelope] of sealed.entries()) expect((await open(envelope, { provider: cache })).equals(plaintexts[i])).toBe(true);
  });

  it('a burst of misses for one context shares one inner call, and its failure', async () => {
    let calls = 0;
    let fail: (e: Error) => void = () => undefined;
    const failing: DataKeyProvider = {
      generate: () => {
        calls++;
        return new Promise((_resolve, reject) => (fail = reject));
      },
      unwrap: () => Promise.reject(new Error('unused')),
    };
    const cache = new DataKeyCache(failing);
    const burst = Array.from({ length: 5 }, () => cache.generate(partitionA).then(() => 'ok', (e: Error) => e.message));
    await new Promise((resolve) => setImmediate(resolve));
    fail(new Error('KMS down'));
    expect(await Promise.all(burst)).toEqual(Array(5).fill('KMS down'));
    expect(calls).toBe(1);
  });
});
