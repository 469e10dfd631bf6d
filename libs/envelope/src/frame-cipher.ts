import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { NONCE_PREFIX_BYTES, TAG_BYTES } from './header';

/** 2^32 frames: the counter is a uint32 in the nonce. */
export const MAX_FRAMES = 2 ** 32;

/**
 * Nonce and associated data for one frame, rebuilt in place for each counter value so the hot
 * loop allocates nothing but the cipher itself.
 *   nonce = noncePrefix(7) || counter(u32 BE) || lastFlag(1)
 *   aad   = sha256(header)(32) || counter(u32 BE) || lastFlag(1)
 */
export class FrameCipher {
  private readonly nonce = Buffer.alloc(12);
  private readonly aad = Buffer.alloc(37);

  constructor(
    private readonly key: KeyObject,
    noncePrefix: Buffer,
    headerDigest: Buffer,
  ) {
    noncePrefix.copy(this.nonce, 0);
    headerDigest.copy(this.aad, 0);
  }

  private position(counter: number, last: boolean): void {
    this.nonce.writeUInt32BE(counter, NONCE_PREFIX_BYTES);
    this.nonce[11] = last ? 1 : 0;
    this.aad.writeUInt32BE(counter, 32);
    this.aad[36] = last ? 1 : 0;
  }

  /** Encrypts one frame; returns [ciphertext..., tag] pieces to push in order. */
  seal(counter: number, last: boolean, plaintext: readonly Buffer[]): Buffer[] {
    this.position(counter, last);
    const cipher = createCipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.aad);
    const out: Buffer[] = [];
    for (const piece of plaintext) if (piece.length > 0) out.push(cipher.update(piece));
    const tail = cipher.final();
    if (tail.length > 0) out.push(tail);
    out.push(cipher.getAuthTag());
    return out;
  }

  /**
   * Decrypts one whole frame (ciphertext pieces, then the tag) and returns its plaintext pieces,
   * or null if the tag does not verify. Nothing is returned before the tag is checked.
   */
  open(counter: number, last: boolean, ciphertext: readonly Buffer[], tag: Buffer): Buffer[] | null {
    this.position(counter, last);
    const decipher = createDecipheriv('aes-256-gcm', this.key, this.nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(this.aad);
    decipher.setAuthTag(tag);
    const out: Buffer[] = [];
    for (const piece of ciphertext) if (piece.length > 0) out.push(decipher.update(piece));
    try {
      const tail = decipher.final();
      if (tail.length > 0) out.push(tail);
    } catch {
      for (const piece of out) piece.fill(0); // never let unauthenticated plaintext linger
      return null;
    }
    return out;
  }
}
