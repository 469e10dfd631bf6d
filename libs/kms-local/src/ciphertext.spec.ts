import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { blobKeyId, canonicalContext, openBlob, sealBlob } from './ciphertext';

const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
const material = randomBytes(32);
const plaintext = Buffer.from('a data key');

describe('ciphertext blob', () => {
  it('round-trips and carries the key id in the clear', () => {
    const blob = sealBlob(keyId, material, plaintext, { workflow: 'w1', agent: 'vfx-2' });
    expect(blobKeyId(blob)).toBe(keyId);
    // Context order does not matter; its content does.
    expect(openBlob(blob, material, { agent: 'vfx-2', workflow: 'w1' })).toEqual(plaintext);
  });

  it('binds the encryption context: any difference fails', () => {
    const blob = sealBlob(keyId, material, plaintext, { agent: 'vfx-2' });
    for (const context of [{}, { agent: 'vfx-3' }, { agent: 'vfx-2', extra: '' }] as Record<string, string>[]) {
      expect(() => openBlob(blob, material, context)).toThrow(expect.objectContaining({ type: 'InvalidCiphertextException' }));
    }
  });

  it('detects tampering anywhere, including the key id, and the wrong key', () => {
    const blob = sealBlob(keyId, material, plaintext, {});
    for (let i = 0; i < blob.length; i += 7) {
      const bad = Buffer.from(blob);
      bad[i] ^= 0x01;
      expect(() => openBlob(bad, material, {})).toThrow(expect.objectContaining({ type: 'InvalidCiphertextException' }));
    }
    expect(() => openBlob(blob, randomBytes(32), {})).toThrow(expect.objectContaining({ type: 'InvalidCiphertextException' }));
    expect(() => blobKeyId(Buffer.from('short'))).toThrow(expect.objectContaining({ type: 'InvalidCiphertextException' }));
    expect(() => openBlob(blob.subarray(0, blob.length - 1), material, {})).toThrow(
      expect.objectContaining({ type: 'InvalidCiphertextException' }),
    );
  });

  it('encodes contexts unambiguously', () => {
    expect(canonicalContext({ a: 'b,c' })).not.toEqual(canonicalContext({ 'a': 'b', c: '' }));
    expect(canonicalContext({ b: '1', a: '2' })).toEqual(canonicalContext({ a: '2', b: '1' }));
  });
});
