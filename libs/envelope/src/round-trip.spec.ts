import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FRAME_SIZE, EnvelopeError, openStream, readHeader, sealStream } from './index';
import { CONTEXT, open, seal, staticProvider } from './test-support';

const F = DEFAULT_FRAME_SIZE;

describe('seal/open round trip', () => {
  const provider = staticProvider();

  for (const size of [0, 1, F - 1, F, F + 1, 3 * F]) {
    it(`${size} bytes, with chunks that do not line up with frames`, async () => {
      const plaintext = randomBytes(size);
      for (const chunkSize of [1 + (size % 13), 4096, F + 3]) {
        if (chunkSize === 1 + (size % 13) && size > 2 * F) continue; // byte-sized writes of big inputs are slow, not interesting
        const sealed = await seal(plaintext, { provider }, chunkSize);
        const frames = Math.max(1, Math.ceil(size / F));
        expect(sealed.length).toBe(readHeader(sealed).bytes.length + size + 16 * frames);
        if (size >= 16) expect(sealed.includes(plaintext.subarray(0, 16))).toBe(false);
        const opened = await open(sealed, { provider }, chunkSize + 5);
        expect(opened.equals(plaintext)).toBe(true);
      }
    });
  }

  it('empty plaintext is the header plus one final empty frame', async () => {
    const sealed = await seal(Buffer.alloc(0), { provider });
    expect(sealed.length - readHeader(sealed).bytes.length).toBe(16);
    expect((await open(sealed, { provider })).length).toBe(0);
  });

  it('small frame sizes work and set the header field', async () => {
    const plaintext = randomBytes(1000);
    const sealed = await seal(plaintext, { provider, frameSize: 7 });
    expect(readHeader(sealed).frameSize).toBe(7);
    expect((await open(sealed, { provider })).equals(plaintext)).toBe(true);
  });

  it('two seals of the same plaintext differ (fresh object id and nonce prefix)', async () => {
    const plaintext = randomBytes(100);
    const [a, b] = [await seal(plaintext, { provider }), await seal(plaintext, { provider })];
    expect(a.equals(b)).toBe(false);
    expect(readHeader(a).objectId.equals(readHeader(b).objectId)).toBe(false);
  });

  it('rejects bad options', async () => {
    expect(() => sealStream({ context: CONTEXT, provider, frameSize: 0 })).toThrow(/frame size/);
    expect(() => sealStream({ context: { a: 1 as unknown as string }, provider })).toThrow(/string/);
    expect(() => sealStream({ context: CONTEXT })).toThrow(/exactly one/);
    expect(() => sealStream({ context: { '': 'empty key' }, provider })).toThrow(EnvelopeError);
    expect(() => openStream({ expectedContext: CONTEXT })).toThrow(/exactly one/);
  });

  it('100 MB streamed from a generator round-trips (sha256), never holding the whole object', async () => {
    const total = 100 * 1024 * 1024;
    const block = randomBytes(1024 * 1024 + 17); // odd size: frames never line up with input chunks
    const inputHash = createHash('sha256');
    let generated = 0;
    async function* generate() {
      for (let sent = 0; sent < total; ) {
        const piece = block.subarray(0, Math.min(block.length - (sent % 5), total - sent));
        inputHash.update(piece);
        sent += piece.length;
        generated = sent;
        yield piece;
      }
    }
    const outputHash = createHash('sha256');
    let outputBytes = 0;
    // Bytes produced but not yet delivered = what the pipeline holds at that moment. Exact, unlike
    // RSS, which lags with garbage collection in a shared test process.
    let maxInFlight = 0;
    await pipeline(
      Readable.from(generate()),
      sealStream({ context: CONTEXT, provider }),
      openStream({ expectedContext: CONTEXT, provider }),
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          outputHash.update(chunk);
          outputBytes += chunk.length;
          maxInFlight = Math.max(maxInFlight, generated - outputBytes);
          callback();
        },
      }),
    );
    expect(outputBytes).toBe(total);
    expect(outputHash.digest('hex')).toBe(inputHash.digest('hex'));
    // Readable.from buffers up to 16 pieces of ~1 MB; the seal/open stages hold a few frames.
    expect(maxInFlight).toBeLessThan(32 * 1024 * 1024);
    expect(maxInFlight).toBeGreaterThan(0);
  });
});
