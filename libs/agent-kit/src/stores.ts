import { join } from 'node:path';
import { DataKeyCache, KmsDataKeyProvider, SealedObjectStore } from '@reelmesh/envelope';
import { FsObjectStore, type ObjectStore } from '@reelmesh/storage';
import type { AgentConfig, KmsConfig } from './config';

export interface AgentStores {
  /** Workflow data (chunks, slot records): sealed under the owner's workflow key. */
  data: ObjectStore;
  /** The actor's private assets (LUT, presets): sealed under the actor's own key. */
  assets?: ObjectStore;
  /** KMS call counters, for status and benchmarks. */
  kmsStats(): { generateDataKey: number; decrypt: number; failures: number } | undefined;
}

function provider(kms: KmsConfig, keyId: string) {
  const inner = new KmsDataKeyProvider({
    endpoint: kms.endpoint,
    region: kms.region,
    credentials: { accessKeyId: kms.accessKeyId, secretAccessKey: kms.secretAccessKey },
    keyId,
    allowedKeyIds: kms.allowedKeyIds,
  });
  return { inner, cached: new DataKeyCache(inner, { maxObjectsPerKey: 10_000, maxAgeMs: 5 * 60_000 }) };
}

/**
 * The agent's volume. With KMS configured every object is sealed (plaintext never touches
 * disk); without it, plain files — only for the security-off baseline and unit tests.
 */
export function createStores(config: AgentConfig): AgentStores {
  if (!config.kms) {
    return { data: new FsObjectStore(config.dataDir), assets: new FsObjectStore(join(config.dataDir, 'assets')), kmsStats: () => undefined };
  }
  const data = provider(config.kms, config.kms.keyId);
  const assets = config.kms.assetKeyId ? provider(config.kms, config.kms.assetKeyId) : undefined;
  return {
    data: new SealedObjectStore({ root: config.dataDir, provider: data.cached }),
    assets: assets && new SealedObjectStore({ root: join(config.dataDir, 'assets'), provider: assets.cached }),
    kmsStats: () => {
      const a = data.inner.stats;
      const b = assets?.inner.stats ?? { generateDataKey: 0, decrypt: 0, failures: 0 };
      return { generateDataKey: a.generateDataKey + b.generateDataKey, decrypt: a.decrypt + b.decrypt, failures: a.failures + b.failures };
    },
  };
}
