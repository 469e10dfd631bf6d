import { KmsError } from './errors';
import { assertAliasName, keyArn, resolveKey, type ArnScope } from './key-ref';
import type { KeyStore, StoredKey } from './key-store';
import { parseKeyPolicy, type KeyPolicy } from './policy';
import type { PrincipalCredential } from './principals';

export interface KeyInfo {
  keyId: string;
  arn: string;
  description: string;
  enabled: boolean;
  aliases: string[];
  policy: KeyPolicy;
}

/**
 * In-process administration for whoever started the server (the runtime, tests): no credentials,
 * no policy checks. Never exposed over the network. Key refs accept ids, ARNs and alias names.
 */
export interface KmsAdmin {
  createKey(input: { alias?: string; description?: string; policy: KeyPolicy }): Promise<KeyInfo>;
  createAlias(alias: string, keyRef: string): Promise<void>;
  describeKey(keyRef: string): KeyInfo;
  /** Undefined when no key or alias matches; never throws NotFound. */
  findKey(keyRef: string): KeyInfo | undefined;
  putKeyPolicy(keyRef: string, policy: KeyPolicy): Promise<void>;
  setKeyEnabled(keyRef: string, enabled: boolean): Promise<void>;
  listAliases(): { alias: string; keyId: string }[];
  /** Adds or replaces an access key at run time (credentials are configuration, not persisted). */
  addPrincipal(accessKeyId: string, credential: PrincipalCredential): void;
}

export function createAdmin(store: KeyStore, scope: ArnScope, directory: Map<string, PrincipalCredential>): KmsAdmin {
  const info = (key: StoredKey): KeyInfo => ({
    keyId: key.keyId,
    arn: keyArn(scope, key.keyId),
    description: key.description,
    enabled: key.enabled,
    aliases: store
      .listAliases()
      .filter((a) => a.keyId === key.keyId)
      .map((a) => a.name),
    policy: key.policy,
  });

  const admin: KmsAdmin = {
    async createKey({ alias, description, policy }) {
      const checked = parseKeyPolicy(policy);
      if (alias !== undefined) {
        assertAliasName(alias);
        if (store.getAlias(alias)) throw new KmsError('AlreadyExistsException', `Alias ${alias} already exists`);
      }
      const key = await store.createKey({ description, policy: checked });
      if (alias !== undefined) await store.createAlias(alias, key.keyId);
      return info(store.getKey(key.keyId) as StoredKey);
    },
    async createAlias(alias, keyRef) {
      assertAliasName(alias);
      await store.createAlias(alias, resolveKey(store, scope, keyRef, { allowAlias: false }).keyId);
    },
    describeKey: (keyRef) => info(resolveKey(store, scope, keyRef)),
    findKey(keyRef) {
      try {
        return admin.describeKey(keyRef);
      } catch (err) {
        if (err instanceof KmsError && err.type === 'NotFoundException') return undefined;
        throw err;
      }
    },
    async putKeyPolicy(keyRef, policy) {
      await store.updateKey(resolveKey(store, scope, keyRef).keyId, { policy: parseKeyPolicy(policy) });
    },
    async setKeyEnabled(keyRef, enabled) {
      await store.updateKey(resolveKey(store, scope, keyRef).keyId, { enabled });
    },
    listAliases: () => store.listAliases().map((a) => ({ alias: a.name, keyId: a.keyId })),
    addPrincipal(accessKeyId, credential) {
      if (!accessKeyId || !credential.secretAccessKey || !credential.principal) {
        throw new Error('addPrincipal needs an access key id, a secret and a principal');
      }
      directory.set(accessKeyId, { ...credential });
    },
  };
  return admin;
}
