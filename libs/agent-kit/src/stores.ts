import { join } from 'node:path';
import { sealedStore } from '@reelmesh/envelope';
import { FsObjectStore, type ObjectStore } from '@reelmesh/storage';
import type { AgentConfig } from './config';

export interface AgentStores {
  /** Workflow data (chunks, slot records): sealed under the owner's workflow key. */
  data: ObjectStore;
  /** The actor's private assets (LUT, presets): sealed under the actor's own key. */
  assets?: ObjectStore;
  /** KMS call counters and plaintext bytes sealed, for status, the dashboard and benchmarks. */
  kmsStats(): { generateDataKey: number; decrypt: number; failures: number; sealedBytes: number } | undefined;
}

/**
 * The agent's volume. With KMS configured every object is sealed (plaintext never touches
 * disk); without it, plain files — only for the security-off baseline and unit tests.
 */
export function createStores(config: AgentConfig): AgentStores {
  if (!config.kms) {
    return { data: new FsObjectStore(config.dataDir), assets: new FsObjectStore(join(config.dataDir, 'assets')), kmsStats: () => undefined };
  }
  const data = sealedStore(config.dataDir, config.kms);
  const assets = config.kms.assetKeyId ? sealedStore(join(config.dataDir, 'assets'), config.kms, config.kms.assetKeyId) : undefined;
  return {
    data: data.store,
    assets: assets?.store,
    kmsStats: () => {
      const a = data.stats();
      const b = assets?.stats() ?? { generateDataKey: 0, decrypt: 0, failures: 0, sealedBytes: 0 };
      return { generateDataKey: a.generateDataKey + b.generateDataKey, decrypt: a.decrypt + b.decrypt, failures: a.failures + b.failures, sealedBytes: a.sealedBytes + b.sealedBytes };
    },
  };
}
