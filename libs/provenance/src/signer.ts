import { createPrivateKey, type KeyObject } from 'node:crypto';

/** What a workload signs with: its SVID (key + certificate chain). Same shape as the mesh's Svid. */
export interface SigningMaterial {
  spiffeId: string;
  keyPem: string;
  /** Leaf first, then any intermediates (a trailing root is ignored by verifiers). */
  chainPem: string;
}

export interface Signer {
  readonly spiffeId: string;
  readonly chainPem: string;
  readonly key: KeyObject;
}

/**
 * A signer that always uses the workload's current SVID: pass a getter (e.g. an SvidSource's
 * `current`) so rotation is picked up without rebuilding anything.
 */
export function createSigner(material: SigningMaterial | (() => SigningMaterial)): () => Signer {
  const get = typeof material === 'function' ? material : () => material;
  let cachedPem = '';
  let cachedKey: KeyObject | undefined;
  return () => {
    const current = get();
    if (current.keyPem !== cachedPem || !cachedKey) {
      cachedKey = createPrivateKey(current.keyPem);
      cachedPem = current.keyPem;
    }
    return { spiffeId: current.spiffeId, chainPem: current.chainPem, key: cachedKey };
  };
}
