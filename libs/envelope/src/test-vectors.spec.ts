import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStream, readHeader, sealStream, StaticDataKeyProvider } from './index';
import { runThrough, split } from './test-support';

interface VectorFile {
  dataKey: string;
  keyId: string;
  wrappedKey: string;
  noncePrefix: string;
  objectId: string;
  frameSize: number;
  context: Record<string, string>;
  vectors: { name: string; plaintextUtf8: string; envelope: string }[];
}

// The vectors live in the format document; this test keeps the document honest.
const doc = readFileSync(fileURLToPath(new URL('../../../docs/envelope-format.md', import.meta.url)), 'utf8');
const block = /```json test-vectors\n([\s\S]*?)```/.exec(doc);
const spec = JSON.parse(block?.[1] ?? 'null') as VectorFile;
const hex = (s: string) => Buffer.from(s, 'hex');

describe('docs/envelope-format.md test vectors', () => {
  it('are present', () => {
    expect(spec?.vectors.length).toBeGreaterThanOrEqual(2);
  });

  for (const vector of spec?.vectors ?? []) {
    const plaintext = Buffer.from(vector.plaintextUtf8, 'utf8');
    const expected = hex(vector.envelope);

    it(`${vector.name}: sealStream produces the documented bytes`, async () => {
      for (const chunkSize of [1, 5, 1000]) {
        const sealed = await runThrough(
          sealStream({
            context: spec.context,
            dataKey: { keyId: spec.keyId, plaintextKey: hex(spec.dataKey), wrappedKey: hex(spec.wrappedKey) },
            frameSize: spec.frameSize,
            objectId: hex(spec.objectId),
            noncePrefix: hex(spec.noncePrefix),
          }),
          split(plaintext, chunkSize),
        );
        expect(sealed.toString('hex')).toBe(vector.envelope);
      }
    });

    it(`${vector.name}: openStream returns the plaintext`, async () => {
      const provider = new StaticDataKeyProvider({ keyId: spec.keyId, plaintextKey: hex(spec.dataKey), wrappedKey: hex(spec.wrappedKey) });
      const opened = await runThrough(openStream({ expectedContext: spec.context, provider }), split(expected, 3));
      expect(opened.equals(plaintext)).toBe(true);
    });

    it(`${vector.name}: the body follows the documented KDF, nonce and AAD rules (plain node:crypto)`, () => {
      const header = readHeader(expected);
      const salt = Buffer.concat([hex(spec.objectId), hex(spec.noncePrefix)]);
      const frameKey = Buffer.from(hkdfSync('sha256', hex(spec.dataKey), salt, Buffer.from('RMEV1 frame key'), 32));
      const commitment = Buffer.from(hkdfSync('sha256', hex(spec.dataKey), salt, Buffer.from('RMEV1 key commitment'), 32));
      expect(header.commitment.equals(commitment)).toBe(true);
      expect(header.bytes.readUInt32BE(6)).toBe(header.bytes.length);
      const digest = createHash('sha256').update(header.bytes).digest();
      const frames: Buffer[] = [];
      const count = Math.max(1, Math.ceil(plaintext.length / spec.frameSize));
      for (let i = 0; i < count; i++) {
        const last = i === count - 1 ? 1 : 0;
        const counter = Buffer.alloc(4);
        counter.writeUInt32BE(i);
        const cipher = createCipheriv('aes-256-gcm', frameKey, Buffer.concat([hex(spec.noncePrefix), counter, Buffer.of(last)]));
        cipher.setAAD(Buffer.concat([digest, counter, Buffer.of(last)]));
        frames.push(cipher.update(plaintext.subarray(i * spec.frameSize, (i + 1) * spec.frameSize)), cipher.final(), cipher.getAuthTag());
      }
      expect(Buffer.concat([header.bytes, ...frames]).toString('hex')).toBe(vector.envelope);
    });
  }
});
