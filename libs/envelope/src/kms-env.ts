import { FsObjectStore, type ObjectStore } from '@reelmesh/storage';
import { DataKeyCache } from './data-key-cache';
import { KmsDataKeyProvider } from './kms-data-key-provider';
import { SealedObjectStore } from './sealed-object-store';

/** How a workload reaches KMS (AWS KMS, LocalStack or the local KMS): only through the AWS SDK. */
export interface KmsConfig {
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The owner's workflow key (alias or ARN) that seals workflow data. */
  keyId: string;
  /** Key ARNs this workload trusts in envelope headers (besides those it generated with). */
  allowedKeyIds: string[];
  /** The workload's own actor's private-asset key (LUT, presets), if it has assets. */
  assetKeyId?: string;
}

/** REELMESH_KMS_KEY_ID switches sealed storage on; the rest of REELMESH_KMS_* must then be set. */
export function kmsConfigFromEnv(env: NodeJS.ProcessEnv): KmsConfig | undefined {
  if (!env.REELMESH_KMS_KEY_ID) return undefined;
  const kms: Record<string, unknown> = {
    endpoint: env.REELMESH_KMS_ENDPOINT || undefined,
    region: env.REELMESH_KMS_REGION ?? env.AWS_REGION,
    accessKeyId: env.REELMESH_KMS_ACCESS_KEY_ID,
    secretAccessKey: env.REELMESH_KMS_SECRET_ACCESS_KEY,
    keyId: env.REELMESH_KMS_KEY_ID,
    allowedKeyIds: (env.REELMESH_KMS_ALLOWED_KEY_IDS ?? '').split(',').filter(Boolean),
    assetKeyId: env.REELMESH_KMS_ASSET_KEY_ID || undefined,
  };
  return Object.fromEntries(Object.entries(kms).filter(([, v]) => v !== undefined)) as unknown as KmsConfig;
}

export interface SealedStore {
  store: ObjectStore;
  stats: () => { generateDataKey: number; decrypt: number; failures: number };
}

/** A folder sealed under `keyId` with a bounded data-key cache; plain files when kms is undefined. */
export function sealedStore(root: string, kms: KmsConfig | undefined, keyId = kms?.keyId): SealedStore {
  if (!kms || !keyId) return { store: new FsObjectStore(root), stats: () => ({ generateDataKey: 0, decrypt: 0, failures: 0 }) };
  const inner = new KmsDataKeyProvider({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey },
    keyId,
    allowedKeyIds: kms.allowedKeyIds,
  });
  const cached = new DataKeyCache(inner, { maxObjectsPerKey: 10_000, maxAgeMs: 5 * 60_000 });
  return { store: new SealedObjectStore({ root, provider: cached }), stats: () => inner.stats };
}
