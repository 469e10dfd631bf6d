import { FsObjectStore, type ObjectStore } from '@reelmesh/storage';
import { DataKeyCache } from './data-key-cache';
import { KmsDataKeyProvider } from './kms-data-key-provider';
import { SealedObjectStore } from './sealed-object-store';

/** How a workload reaches KMS (AWS KMS, LocalStack or the local KMS): only through the AWS SDK. */
export interface KmsConfig {
  endpoint?: string;
  region: string;
  /** Static credentials (the local KMS's per-agent principal); absent: the AWS SDK's default credential chain (IRSA, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** The owner's workflow key (alias, key ARN, or key id) that seals workflow data. */
  keyId: string;
  /** Keys this workload trusts in envelope headers (ARNs, key ids or aliases; aliases are resolved with DescribeKey). */
  allowedKeyIds: string[];
  /** The workload's own actor's private-asset key (LUT, presets), if it has assets. */
  assetKeyId?: string;
}

/** The environment variable of each KMS setting: read here, written by every deployment target. */
export const KMS_ENV = Object.freeze({
  endpoint: 'REELMESH_KMS_ENDPOINT',
  region: 'REELMESH_KMS_REGION',
  accessKeyId: 'REELMESH_KMS_ACCESS_KEY_ID',
  secretAccessKey: 'REELMESH_KMS_SECRET_ACCESS_KEY',
  keyId: 'REELMESH_KMS_KEY_ID',
  allowedKeyIds: 'REELMESH_KMS_ALLOWED_KEY_IDS',
  assetKeyId: 'REELMESH_KMS_ASSET_KEY_ID',
} satisfies Record<keyof KmsConfig, string>);

/** The environment that carries KMS settings (values, or whatever a deployment target puts there). */
export function kmsEnvironment<T>(settings: Partial<Record<keyof KmsConfig, T>>): Record<string, T> {
  const env: Record<string, T> = {};
  for (const [setting, value] of Object.entries(settings) as Array<[keyof KmsConfig, T | undefined]>) {
    if (value !== undefined) env[KMS_ENV[setting]] = value;
  }
  return env;
}

/** REELMESH_KMS_KEY_ID switches sealed storage on; the region must then be set (access keys are optional). */
export function kmsConfigFromEnv(env: NodeJS.ProcessEnv): KmsConfig | undefined {
  if (!env[KMS_ENV.keyId]) return undefined;
  const kms: Record<string, unknown> = {
    endpoint: env[KMS_ENV.endpoint] || undefined,
    region: env[KMS_ENV.region] ?? env.AWS_REGION,
    accessKeyId: env[KMS_ENV.accessKeyId],
    secretAccessKey: env[KMS_ENV.secretAccessKey],
    keyId: env[KMS_ENV.keyId],
    allowedKeyIds: (env[KMS_ENV.allowedKeyIds] ?? '').split(',').filter(Boolean),
    assetKeyId: env[KMS_ENV.assetKeyId] || undefined,
  };
  return Object.fromEntries(Object.entries(kms).filter(([, v]) => v !== undefined)) as unknown as KmsConfig;
}

export interface SealedStore {
  store: ObjectStore;
  /** KMS calls made for this folder, and the plaintext bytes sealed into it. */
  stats: () => { generateDataKey: number; decrypt: number; failures: number; sealedBytes: number };
}

/** A folder sealed under `keyId` with a bounded data-key cache; plain files when kms is undefined. */
export function sealedStore(root: string, kms: KmsConfig | undefined, keyId = kms?.keyId): SealedStore {
  if (!kms || !keyId) return { store: new FsObjectStore(root), stats: () => ({ generateDataKey: 0, decrypt: 0, failures: 0, sealedBytes: 0 }) };
  const inner = new KmsDataKeyProvider({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: kms.accessKeyId && kms.secretAccessKey ? { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey } : undefined,
    keyId,
    allowedKeyIds: kms.allowedKeyIds,
  });
  const cached = new DataKeyCache(inner, { maxObjectsPerKey: 10_000, maxAgeMs: 5 * 60_000 });
  const store = new SealedObjectStore({ root, provider: cached });
  return { store, stats: () => ({ ...inner.stats, sealedBytes: store.sealedBytes }) };
}
