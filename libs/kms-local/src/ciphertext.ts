import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KmsError } from './errors';
import type { EncryptionContext } from './policy';

/*
 * Ciphertext blob, version 1 (all our own; clients treat it as opaque bytes):
 *
 *   "RMKC" | 0x01 | keyIdLength (1 byte) | keyId (ASCII) | iv (12) | AES-256-GCM ciphertext | tag (16)
 *
 * AAD = every byte before the ciphertext, followed by the canonical encryption context, so the
 * key id, the version and the context are all authenticated: change any of them and decryption fails.
 */
const MAGIC = Buffer.from('RMKC', 'ascii');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_FIXED = MAGIC.length + 2;

/** Unambiguous, order-independent encoding of an encryption context. */
export function canonicalContext(context: EncryptionContext): Buffer {
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(JSON.stringify(entries), 'utf8');
}

export function sealBlob(keyId: string, material: Buffer, plaintext: Buffer, context: EncryptionContext): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  if (id.length === 0 || id.length > 255) throw new Error('key id length out of range');
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION, id.length]), id, randomBytes(IV_BYTES)]);
  const cipher = createCipheriv('aes-256-gcm', material, header.subarray(header.length - IV_BYTES));
  cipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
  return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Reads the key id without decrypting; throws InvalidCiphertextException on anything malformed. */
export function blobKeyId(blob: Buffer): string {
  return parse(blob).keyId;
}

export function openBlob(blob: Buffer, material: Buffer, context: EncryptionContext): Buffer {
  const { header, iv, body, tag } = parse(blob);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(Buffer.concat([header, canonicalContext(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalid();
  }
}

function parse(blob: Buffer) {
  if (blob.length < HEADER_FIXED || !blob.subarray(0, MAGIC.length).equals(MAGIC) || blob[4] !== VERSION) {
    throw invalid();
  }
  const idLength = blob[5];
  const headerLength = HEADER_FIXED + idLength + IV_BYTES;
  if (idLength === 0 || blob.length < headerLength + TAG_BYTES) throw invalid();
  return {
    keyId: blob.subarray(HEADER_FIXED, HEADER_FIXED + idLength).toString('ascii'),
    header: blob.subarray(0, headerLength),
    iv: blob.subarray(headerLength - IV_BYTES, headerLength),
    body: blob.subarray(headerLength, blob.length - TAG_BYTES),
    tag: blob.subarray(blob.length - TAG_BYTES),
  };
}

function invalid(): KmsError {
  return new KmsError('InvalidCiphertextException', 'The ciphertext is invalid or does not match the encryption context');
}
