import { timingSafeEqual } from 'node:crypto';
import { EnvelopeError } from './envelope-error';
import { DATA_KEY_BYTES } from './header';
import type { EncryptionContext } from './encryption-context';

export interface DataKey {
  /** The KMS key that wrapped it, as KMS reported it (stored in the header). */
  keyId: string;
  /** 32-byte AES key. Owned by the caller, who should zero it (fill(0)) once done. */
  plaintextKey: Buffer;
  /** The KMS ciphertext blob (stored in the header). */
  wrappedKey: Buffer;
  /**
   * Optional usage meter: the seal stream reports the plaintext bytes it sealed under this
   * key, so a cache can retire keys by bytes.
   */
  countBytes?: (bytes: number) => void;
}

export interface UnwrapRequest {
  keyId: string;
  wrappedKey: Buffer;
  context: EncryptionContext;
}

/**
 * Where data keys come from. `context` is the KMS encryption context (kmsContextOf of the
 * envelope context); implementations must bind it so unwrap with another context fails.
 * Both methods return a fresh key buffer the caller owns; failures are EnvelopeErrors.
 */
export interface DataKeyProvider {
  generate(context: EncryptionContext): Promise<DataKey>;
  unwrap(request: UnwrapRequest): Promise<Buffer>;
}

/**
 * A fixed data key, for test vectors and offline tools. Unwrap checks key id and wrapped
 * blob so a tampered header still fails, but there is no KMS: never use it for real data.
 */
export class StaticDataKeyProvider implements DataKeyProvider {
  private readonly plaintextKey: Buffer;
  private readonly wrappedKey: Buffer;

  constructor(options: { keyId: string; plaintextKey: Buffer; wrappedKey: Buffer }) {
    if (options.plaintextKey.length !== DATA_KEY_BYTES) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `data key must be ${DATA_KEY_BYTES} bytes`);
    this.keyId = options.keyId;
    this.plaintextKey = Buffer.from(options.plaintextKey);
    this.wrappedKey = Buffer.from(options.wrappedKey);
  }

  readonly keyId: string;

  async generate(_context: EncryptionContext): Promise<DataKey> {
    return { keyId: this.keyId, plaintextKey: Buffer.from(this.plaintextKey), wrappedKey: Buffer.from(this.wrappedKey) };
  }

  async unwrap(request: UnwrapRequest): Promise<Buffer> {
    if (request.keyId !== this.keyId) throw new EnvelopeError('ENVELOPE_KEY_NOT_ALLOWED', `unknown key id ${JSON.stringify(request.keyId)}`);
    const same = request.wrappedKey.length === this.wrappedKey.length && timingSafeEqual(request.wrappedKey, this.wrappedKey);
    if (!same) throw new EnvelopeError('ENVELOPE_KMS_DENIED', 'wrapped key does not unwrap under this key');
    return Buffer.from(this.plaintextKey);
  }
}

/** Runs a provider call, turning anything that is not already an EnvelopeError into KMS_UNAVAILABLE. */
export async function callProvider<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof EnvelopeError) throw error;
    throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', `${what} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}
