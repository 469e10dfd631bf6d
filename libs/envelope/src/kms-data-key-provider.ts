import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { DataKey, DataKeyProvider, UnwrapRequest } from './data-key-provider';
import type { EncryptionContext } from './encryption-context';
import { EnvelopeError } from './envelope-error';
import { DATA_KEY_BYTES } from './header';

export interface KmsDataKeyProviderOptions {
  /** Omit for AWS KMS; set for LocalStack or the local KMS (e.g. http://127.0.0.1:4599). */
  endpoint?: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The KMS key data keys are generated under (id, ARN or alias). */
  keyId: string;
  /**
   * Key ARNs (or bare key ids) a header may name for unwrap; `keyId` is always included. Headers
   * hold the ARN KMS returned, so when `keyId` is an alias, list the key's ARN here (ARNs from
   * this provider's own GenerateDataKey calls are added automatically). Anything else fails
   * closed with ENVELOPE_KEY_NOT_ALLOWED, so a forged header cannot point at another key the
   * reader happens to be able to use.
   */
  allowedKeyIds?: string[];
  /** SDK attempts per call (default 3). */
  maxAttempts?: number;
  /** Per-request socket timeout in ms (default 10 s), so an unreachable KMS fails instead of hanging. */
  requestTimeoutMs?: number;
}

export interface KmsCallStats {
  generateDataKey: number;
  decrypt: number;
  failures: number;
}

/** KMS refusals (as opposed to KMS being unreachable or broken). */
const DENIED = new Set([
  'AccessDeniedException',
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignature',
  'ValidationException',
]);

/** Data keys from AWS KMS or anything speaking its protocol, through the official SDK only. */
export class KmsDataKeyProvider implements DataKeyProvider {
  readonly stats: KmsCallStats = { generateDataKey: 0, decrypt: 0, failures: 0 };
  private readonly client: KMSClient;
  private readonly allowed: Set<string>;

  constructor(private readonly options: KmsDataKeyProviderOptions) {
    if (!options.keyId) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', 'KmsDataKeyProvider needs a keyId');
    this.client = new KMSClient({
      region: options.region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: options.requestTimeoutMs ?? 10_000 },
    });
    this.allowed = new Set([options.keyId, ...(options.allowedKeyIds ?? [])]);
  }

  async generate(context: EncryptionContext): Promise<DataKey> {
    this.stats.generateDataKey++;
    const out = await this.send('GenerateDataKey', () =>
      this.client.send(new GenerateDataKeyCommand({ KeyId: this.options.keyId, KeySpec: 'AES_256', EncryptionContext: context })),
    );
    const plaintextKey = takeKey(out.Plaintext);
    if (!out.CiphertextBlob || !out.KeyId) throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', 'KMS GenerateDataKey returned no ciphertext or key id');
    this.allowed.add(out.KeyId);
    return { keyId: out.KeyId, plaintextKey, wrappedKey: Buffer.from(out.CiphertextBlob) };
  }

  async unwrap(request: UnwrapRequest): Promise<Buffer> {
    if (!this.isAllowed(request.keyId)) {
      throw new EnvelopeError('ENVELOPE_KEY_NOT_ALLOWED', `header names KMS key ${JSON.stringify(request.keyId)}, which this reader does not trust`);
    }
    this.stats.decrypt++;
    const out = await this.send('Decrypt', () =>
      this.client.send(new DecryptCommand({ KeyId: request.keyId, CiphertextBlob: request.wrappedKey, EncryptionContext: request.context })),
    );
    return takeKey(out.Plaintext);
  }

  /** Releases the SDK's sockets. */
  destroy(): void {
    this.client.destroy();
  }

  private isAllowed(keyId: string): boolean {
    if (this.allowed.has(keyId)) return true;
    // An ARN ends with "key/<id>"; a configured bare key id matches its ARN.
    for (const id of this.allowed) if (!id.includes(':') && !id.startsWith('alias/') && keyId.endsWith(`:key/${id}`)) return true;
    return false;
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.stats.failures++;
      const name = (error as { name?: string })?.name ?? 'Error';
      const message = (error as Error)?.message ?? String(error);
      if (DENIED.has(name)) throw new EnvelopeError('ENVELOPE_KMS_DENIED', `KMS ${operation} refused: ${name}: ${message}`, { cause: error });
      throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', `KMS ${operation} failed: ${name}: ${message}`, { cause: error });
    }
  }
}

/** Copies the SDK's plaintext into a Buffer we own and wipes the SDK's array. */
function takeKey(plaintext: Uint8Array | undefined): Buffer {
  if (!plaintext || plaintext.length !== DATA_KEY_BYTES) {
    plaintext?.fill(0);
    throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', `KMS returned a plaintext key of unexpected length ${plaintext?.length ?? 0}`);
  }
  const key = Buffer.from(plaintext);
  plaintext.fill(0);
  return key;
}
