import type { KMSClient } from '@aws-sdk/client-kms';
import type { DataKey, DataKeyProvider, UnwrapRequest } from './data-key-provider';
import type { EncryptionContext } from './encryption-context';
import { EnvelopeError } from './envelope-error';
import { DATA_KEY_BYTES } from './header';

export interface KmsDataKeyProviderOptions {
  /** Omit for AWS KMS; set for LocalStack or the local KMS (e.g. http://127.0.0.1:4599). */
  endpoint?: string;
  region: string;
  /** Static credentials; absent: the SDK's default credential provider chain (env, IRSA web identity, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The KMS key data keys are generated under (id, key ARN, alias or alias ARN). */
  keyId: string;
  /**
   * Keys a header may name for unwrap (key ARNs, bare key ids, aliases or alias ARNs); `keyId` is
   * always included. Headers hold the key ARN KMS returned: aliases are resolved to it with
   * DescribeKey, once, the first time a header names a key not yet known (ARNs from this
   * provider's own GenerateDataKey calls are added as they come). Anything else fails closed with
   * ENVELOPE_KEY_NOT_ALLOWED, so a forged header cannot point at another key the reader happens
   * to be able to use.
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

type KmsSdk = typeof import('@aws-sdk/client-kms');
let kmsSdk: Promise<KmsSdk> | undefined;
/**
 * The SDK, loaded by the first KMS call rather than when a program starts: evaluating it was
 * about a tenth of an agent's start-up CPU, and a fresh agent makes no KMS call before it is ready.
 */
function loadKmsSdk(): Promise<KmsSdk> {
  return (kmsSdk ??= import('@aws-sdk/client-kms'));
}

/** Data keys from AWS KMS or anything speaking its protocol, through the official SDK only. */
export class KmsDataKeyProvider implements DataKeyProvider {
  readonly stats: KmsCallStats = { generateDataKey: 0, decrypt: 0, failures: 0 };
  /** Made by the first call (the SDK loads then); options are checked in the constructor. */
  private connection: Promise<{ sdk: KmsSdk; client: KMSClient }> | undefined;
  private readonly allowed: Set<string>;
  /** Allowed aliases not yet resolved to their key ARN. */
  private aliases: string[];
  private resolving: Promise<void> | undefined;

  constructor(private readonly options: KmsDataKeyProviderOptions) {
    if (!options.keyId) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', 'KmsDataKeyProvider needs a keyId');
    const ids = [...new Set([options.keyId, ...(options.allowedKeyIds ?? [])])];
    this.aliases = ids.filter(isAlias);
    this.allowed = new Set(ids.filter((id) => !isAlias(id)));
  }

  async generate(context: EncryptionContext): Promise<DataKey> {
    this.stats.generateDataKey++;
    const out = await this.send('GenerateDataKey', (sdk, client) =>
      client.send(new sdk.GenerateDataKeyCommand({ KeyId: this.options.keyId, KeySpec: 'AES_256', EncryptionContext: context })),
    );
    const plaintextKey = takeKey(out.Plaintext);
    if (!out.CiphertextBlob || !out.KeyId) throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', 'KMS GenerateDataKey returned no ciphertext or key id');
    this.allowed.add(out.KeyId);
    return { keyId: out.KeyId, plaintextKey, wrappedKey: Buffer.from(out.CiphertextBlob) };
  }

  async unwrap(request: UnwrapRequest): Promise<Buffer> {
    if (!this.isAllowed(request.keyId) && this.aliases.length > 0) await this.resolveAliases();
    if (!this.isAllowed(request.keyId)) {
      throw new EnvelopeError('ENVELOPE_KEY_NOT_ALLOWED', `header names KMS key ${JSON.stringify(request.keyId)}, which this reader does not trust`);
    }
    this.stats.decrypt++;
    const out = await this.send('Decrypt', (sdk, client) =>
      client.send(new sdk.DecryptCommand({ KeyId: request.keyId, CiphertextBlob: request.wrappedKey, EncryptionContext: request.context })),
    );
    return takeKey(out.Plaintext);
  }

  /** Releases the SDK's sockets. */
  destroy(): void {
    const connection = this.connection;
    this.connection = undefined;
    void connection?.then(({ client }) => client.destroy(), () => undefined);
  }

  private connect(): Promise<{ sdk: KmsSdk; client: KMSClient }> {
    const { options } = this;
    return (this.connection ??= loadKmsSdk().then((sdk) => ({
      sdk,
      client: new sdk.KMSClient({
        region: options.region,
        endpoint: options.endpoint,
        // Left out when absent, so the SDK falls back to its default provider chain.
        ...(options.credentials ? { credentials: options.credentials } : {}),
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { requestTimeout: options.requestTimeoutMs ?? 10_000, connectionTimeout: options.requestTimeoutMs ?? 10_000 },
      }),
    })));
  }

  /** DescribeKey on every allowed alias (one round at a time); a failed round is retried by the next unwrap. */
  private resolveAliases(): Promise<void> {
    this.resolving ??= (async () => {
      for (const alias of [...this.aliases]) {
        const out = await this.send('DescribeKey', (sdk, client) => client.send(new sdk.DescribeKeyCommand({ KeyId: alias })));
        const arn = out.KeyMetadata?.Arn;
        if (!arn) throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', `KMS DescribeKey returned no ARN for ${alias}`);
        this.allowed.add(arn);
        this.aliases = this.aliases.filter((a) => a !== alias);
      }
    })().finally(() => {
      this.resolving = undefined;
    });
    return this.resolving;
  }

  private isAllowed(keyId: string): boolean {
    if (this.allowed.has(keyId)) return true;
    // An ARN ends with "key/<id>"; a configured bare key id matches its ARN.
    for (const id of this.allowed) if (!id.includes(':') && !id.startsWith('alias/') && keyId.endsWith(`:key/${id}`)) return true;
    return false;
  }

  private async send<T>(operation: string, call: (sdk: KmsSdk, client: KMSClient) => Promise<T>): Promise<T> {
    try {
      const { sdk, client } = await this.connect();
      return await call(sdk, client);
    } catch (error) {
      this.stats.failures++;
      const name = (error as { name?: string })?.name ?? 'Error';
      const message = (error as Error)?.message ?? String(error);
      if (DENIED.has(name)) throw new EnvelopeError('ENVELOPE_KMS_DENIED', `KMS ${operation} refused: ${name}: ${message}`, { cause: error });
      throw new EnvelopeError('ENVELOPE_KMS_UNAVAILABLE', `KMS ${operation} failed: ${name}: ${message}`, { cause: error });
    }
  }
}

/** An alias name (alias/...) or alias ARN (arn:aws:kms:<region>:<account>:alias/...). */
function isAlias(id: string): boolean {
  return id.startsWith('alias/') || /^arn:[^:]+:kms:[^:]*:[^:]*:alias\//.test(id);
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
