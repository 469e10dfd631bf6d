import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EnvelopeError, openStream, readHeader, StaticDataKeyProvider, type DataKeyProvider, type EncryptionContext, type EnvelopeErrorCode } from './index';
import { pipeline } from 'node:stream/promises';
import { CONTEXT, collector, expectEnvelopeError, open, seal, split } from './test-support';

const FRAME = 32;
const dataKey = randomBytes(32);
const wrappedKey = randomBytes(40);
const provider = new StaticDataKeyProvider({ keyId: 'k', plaintextKey: dataKey, wrappedKey });

/** Splits an envelope into header and sealed frames (FRAME + 16 bytes each, the last shorter). */
function frames(envelope: Buffer): { header: Buffer; frames: Buffer[] } {
  const header = readHeader(envelope).bytes;
  return { header, frames: split(envelope.subarray(header.length), FRAME + 16) };
}

const plaintext = randomBytes(3 * FRAME + 5); // frames of 32, 32, 32, 5
const sealOnce = () => seal(plaintext, { provider, frameSize: FRAME });

describe('open rejects', () => {
  it('a missing final frame as ENVELOPE_TRUNCATED', async () => {
    const { header, frames: f } = frames(await sealOnce());
    await expectEnvelopeError(open(Buffer.concat([header, ...f.slice(0, -1)]), { provider }), 'ENVELOPE_TRUNCATED');
    await expectEnvelopeError(open(Buffer.concat([header, f[0]]), { provider }), 'ENVELOPE_TRUNCATED');
  });

  it('a header with no frames, a cut header and empty input as ENVELOPE_TRUNCATED', async () => {
    const { header } = frames(await sealOnce());
    await expectEnvelopeError(open(header, { provider }), 'ENVELOPE_TRUNCATED');
    await expectEnvelopeError(open(header.subarray(0, header.length - 1), { provider }), 'ENVELOPE_TRUNCATED');
    await expectEnvelopeError(open(header.subarray(0, 5), { provider }), 'ENVELOPE_TRUNCATED');
    await expectEnvelopeError(open(Buffer.alloc(0), { provider }), 'ENVELOPE_TRUNCATED');
  });

  it('a final frame cut short', async () => {
    const sealed = await sealOnce();
    await expectEnvelopeError(open(sealed.subarray(0, sealed.length - 1), { provider }), 'ENVELOPE_TAMPERED');
    await expectEnvelopeError(open(sealed.subarray(0, sealed.length - 10), { provider }), 'ENVELOPE_TRUNCATED');
  });

  it('dropped, reordered and duplicated frames as ENVELOPE_TAMPERED', async () => {
    const { header, frames: [a, b, c, d] } = frames(await sealOnce());
    for (const body of [[a, c, d], [b, a, c, d], [a, c, b, d], [a, a, b, c, d], [a, b, c, d, d]]) {
      await expectEnvelopeError(open(Buffer.concat([header, ...body]), { provider }), 'ENVELOPE_TAMPERED');
    }
  });

  it('frames spliced between two objects sealed under the same data key as ENVELOPE_TAMPERED', async () => {
    const x = frames(await sealOnce());
    const y = frames(await sealOnce());
    await expectEnvelopeError(open(Buffer.concat([x.header, x.frames[0], y.frames[1], x.frames[2], x.frames[3]]), { provider }), 'ENVELOPE_TAMPERED');
    await expectEnvelopeError(open(Buffer.concat([x.header, ...y.frames]), { provider }), 'ENVELOPE_TAMPERED');
  });

  it('bytes appended after the final frame as ENVELOPE_TAMPERED', async () => {
    const sealed = await sealOnce();
    await expectEnvelopeError(open(Buffer.concat([sealed, Buffer.of(0)]), { provider }), 'ENVELOPE_TAMPERED');
  });

  it('a flipped bit anywhere, header or body, with an EnvelopeError', async () => {
    const sealed = await sealOnce();
    const seen = new Set<EnvelopeErrorCode>();
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = Buffer.from(sealed);
      bad[bit >> 3] ^= 1 << (bit & 7);
      const error = await open(bad, { provider }, 64).then(
        () => new Error(`bit ${bit} flipped and the envelope still opened`),
        (e: unknown) => e,
      );
      expect(error, `bit ${bit}`).toBeInstanceOf(EnvelopeError);
      seen.add((error as EnvelopeError).code);
    }
    // Each part of the header fails in its own way: layout, context, key, commitment, AAD.
    expect([...seen].sort()).toEqual(
      ['ENVELOPE_BAD_HEADER', 'ENVELOPE_CONTEXT_MISMATCH', 'ENVELOPE_KEY_COMMITMENT', 'ENVELOPE_KEY_NOT_ALLOWED', 'ENVELOPE_KMS_DENIED', 'ENVELOPE_TAMPERED', 'ENVELOPE_TRUNCATED'].sort(),
    );
  });

  it('another magic or version as ENVELOPE_BAD_HEADER', async () => {
    const sealed = await sealOnce();
    const badMagic = Buffer.from(sealed);
    badMagic.write('XXXX', 0, 'ascii');
    await expectEnvelopeError(open(badMagic, { provider }), 'ENVELOPE_BAD_HEADER');
    const badVersion = Buffer.from(sealed);
    badVersion[4] = 2;
    await expectEnvelopeError(open(badVersion, { provider }), 'ENVELOPE_BAD_HEADER');
  });

  it('a different encryption context with ENVELOPE_CONTEXT_MISMATCH before KMS is asked', async () => {
    const sealed = await sealOnce();
    let unwraps = 0;
    const counting: DataKeyProvider = {
      generate: (c) => provider.generate(c),
      unwrap: (r) => {
        unwraps++;
        return provider.unwrap(r);
      },
    };
    const others: EncryptionContext[] = [{ ...CONTEXT, object: 'feature-film/demux/av/00002.mkv' }, { ...CONTEXT, extra: '' }, { workflow: CONTEXT.workflow }];
    for (const expectedContext of others) {
      await expectEnvelopeError(open(sealed, { provider: counting, expectedContext }), 'ENVELOPE_CONTEXT_MISMATCH');
    }
    expect(unwraps).toBe(0);
    await open(sealed, { provider: counting });
    expect(unwraps).toBe(1);
  });

  it('a wrong data key with ENVELOPE_KEY_COMMITMENT', async () => {
    const sealed = await sealOnce();
    const liar = new StaticDataKeyProvider({ keyId: 'k', plaintextKey: randomBytes(32), wrappedKey });
    await expectEnvelopeError(open(sealed, { provider: liar }), 'ENVELOPE_KEY_COMMITMENT');
    await expectEnvelopeError(open(sealed, { dataKey: randomBytes(32) }), 'ENVELOPE_KEY_COMMITMENT');
  });
});

describe('open never releases unauthenticated plaintext', () => {
  it('pushes only the frames before a tampered one, each whole', async () => {
    const sealed = await sealOnce();
    const { header } = frames(sealed);
    const bad = Buffer.from(sealed);
    bad[header.length + 2 * (FRAME + 16) + 3] ^= 0x80; // inside frame 2's ciphertext
    const out: Buffer[] = [];
    const error = await pipeline(Readable.from([bad]), openStream({ expectedContext: CONTEXT, provider }), collector(out)).catch((e: unknown) => e);
    expect((error as EnvelopeError).code).toBe('ENVELOPE_TAMPERED');
    expect(Buffer.concat(out).equals(plaintext.subarray(0, 2 * FRAME))).toBe(true);
  });

  it('pushes nothing when the only frame fails, even with a 60 KB frame fed byte-range by byte-range', async () => {
    const big = randomBytes(60_000);
    const sealed = await seal(big, { provider });
    sealed[sealed.length - 1] ^= 1; // the tag, read last
    const out: Buffer[] = [];
    const error = await pipeline(Readable.from(split(sealed, 1000)), openStream({ expectedContext: CONTEXT, provider }), collector(out)).catch((e: unknown) => e);
    expect((error as EnvelopeError).code).toBe('ENVELOPE_TAMPERED');
    expect(out.length).toBe(0);
  });
});

describe('readHeader', () => {
  it('peeks a stream: the same stream still opens afterwards', async () => {
    const sealed = await sealOnce();
    const stream = Readable.from(split(sealed, 50));
    const header = await readHeader(stream);
    expect(header.context).toEqual(CONTEXT);
    expect(header.frameSize).toBe(FRAME);
    expect(header.keyId).toBe('k');
    expect(header.wrappedKey.equals(wrappedKey)).toBe(true);
    const out: Buffer[] = [];
    await pipeline(stream, openStream({ expectedContext: CONTEXT, provider }), collector(out));
    expect(Buffer.concat(out).equals(plaintext)).toBe(true);
  });

  it('fails clearly on a non-envelope and on a stream that ends early', async () => {
    expect(() => readHeader(Buffer.from('just some plaintext bytes'))).toThrow(EnvelopeError);
    await expectEnvelopeError(readHeader(Readable.from([Buffer.from('RMEV')])), 'ENVELOPE_TRUNCATED');
    await expectEnvelopeError(readHeader(Readable.from([Buffer.from('not an envelope at all')])), 'ENVELOPE_BAD_HEADER');
  });
});
