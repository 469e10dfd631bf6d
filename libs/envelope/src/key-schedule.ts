import { createHash, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { EnvelopeError } from './envelope-error';
import { COMMITMENT_BYTES, DATA_KEY_BYTES } from './header';

const FRAME_KEY_INFO = Buffer.from('RMEV1 frame key', 'ascii');
const COMMITMENT_INFO = Buffer.from('RMEV1 key commitment', 'ascii');

export interface ObjectKeys {
  /** AES-256-GCM key for this object's frames only. */
  frameKey: KeyObject;
  /** Public value proving which data key the header was made for. */
  commitment: Buffer;
}

/**
 * HKDF-SHA256 from the data key with salt = object id || nonce prefix: every object gets its own
 * frame key, so a data key reused across objects (cache) never reuses a (key, nonce) pair.
 */
export function deriveObjectKeys(dataKey: Buffer, objectId: Buffer, noncePrefix: Buffer): ObjectKeys {
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== DATA_KEY_BYTES) {
    throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `data key must be a ${DATA_KEY_BYTES}-byte Buffer`);
  }
  const salt = Buffer.concat([objectId, noncePrefix]);
  const frameKeyBytes = Buffer.from(hkdfSync('sha256', dataKey, salt, FRAME_KEY_INFO, 32));
  const commitment = Buffer.from(hkdfSync('sha256', dataKey, salt, COMMITMENT_INFO, COMMITMENT_BYTES));
  const frameKey = createSecretKey(frameKeyBytes);
  frameKeyBytes.fill(0); // the KeyObject holds its own copy
  return { frameKey, commitment };
}

/** Constant-time check that `dataKey` is the key the header committed to. */
export function assertCommitment(expected: Buffer, actual: Buffer): void {
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new EnvelopeError('ENVELOPE_KEY_COMMITMENT', 'data key does not match the header key commitment (wrong key or altered header)');
  }
}

export function headerDigest(headerBytes: Buffer): Buffer {
  return createHash('sha256').update(headerBytes).digest();
}
