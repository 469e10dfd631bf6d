import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@reelmesh/storage';

/*
 * A small file sealed with AES-256-GCM under the master secret:
 *   "RMKS" | 0x01 | iv (12) | ciphertext | tag (16), AAD = the header plus a purpose label,
 * so a sealed file cannot be swapped for another kind of sealed file.
 */
const MAGIC = Buffer.from('RMKS', 'ascii');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + IV_BYTES;

export class SealedFileError extends Error {
  override name = 'SealedFileError';
}

export async function readSealedFile(file: string, secret: Buffer, purpose: string): Promise<Buffer | undefined> {
  const sealed = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (sealed === undefined) return undefined;
  if (sealed.length < HEADER_BYTES + TAG_BYTES || !sealed.subarray(0, 4).equals(MAGIC) || sealed[4] !== VERSION) {
    throw new SealedFileError(`${file} is not a sealed KMS file`);
  }
  const header = sealed.subarray(0, HEADER_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', secret, header.subarray(MAGIC.length + 1));
    decipher.setAAD(Buffer.concat([header, Buffer.from(purpose, 'utf8')]));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealedFileError(`${file} cannot be opened: wrong master secret or tampered file`);
  }
}

/** Atomic, durable replace (@reelmesh/storage's one writer), private to its owner. */
export async function writeSealedFile(file: string, secret: Buffer, purpose: string, plaintext: Buffer): Promise<void> {
  const header = Buffer.concat([MAGIC, Buffer.from([VERSION]), randomBytes(IV_BYTES)]);
  const cipher = createCipheriv('aes-256-gcm', secret, header.subarray(MAGIC.length + 1));
  cipher.setAAD(Buffer.concat([header, Buffer.from(purpose, 'utf8')]));
  const sealed = Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  await writeFileAtomic(file, sealed, { mode: 0o600 });
}
