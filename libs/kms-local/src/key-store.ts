import { randomBytes, randomUUID } from 'node:crypto';
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KmsError } from './errors';
import { loadMasterSecret } from './master-secret';
import { parseKeyPolicy, type KeyPolicy } from './policy';
import { readSealedFile, writeSealedFile } from './sealed-file';

export interface StoredKey {
  keyId: string;
  /** 256-bit AES key material; never leaves the server. */
  material: Buffer;
  description: string;
  policy: KeyPolicy;
  enabled: boolean;
  createdAt: Date;
}

export interface StoredAlias {
  name: string;
  keyId: string;
  createdAt: Date;
}

interface Snapshot {
  keys: Map<string, StoredKey>;
  aliases: Map<string, StoredAlias>;
}

/** The JSON inside the sealed state file. Arrays, not objects keyed by name, so no key is special. */
interface PersistedState {
  version: 1;
  keys: { keyId: string; material: string; description: string; policy: unknown; enabled: boolean; createdAt: string }[];
  aliases: { name: string; keyId: string; createdAt: string }[];
}

const STATE_FILE = 'kms-state.sealed';
const STATE_PURPOSE = 'reelmesh-kms-local/state/v1';

export interface KeyStoreOptions {
  dataDir: string;
  /** Defaults to `<dataDir>/master.key`; keep it elsewhere to split secret and data. */
  masterKeyFile?: string;
}

/**
 * Keys, aliases and policies: read from memory, every change persisted (sealed) before it is
 * visible. Changes run one at a time on a copy, so a failed write changes nothing.
 */
export class KeyStore {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private state: Snapshot,
    private readonly stateFile: string,
    private readonly secret: Buffer,
  ) {}

  static async open(options: KeyStoreOptions): Promise<KeyStore> {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const stateFile = join(options.dataDir, STATE_FILE);
    const masterFile = options.masterKeyFile ?? join(options.dataDir, 'master.key');
    const stateExists = await fileExists(stateFile);
    const secret = await loadMasterSecret(masterFile, { create: !stateExists });
    const plain = await readSealedFile(stateFile, secret, STATE_PURPOSE);
    const state = plain === undefined ? emptySnapshot() : fromPersisted(JSON.parse(plain.toString('utf8')));
    return new KeyStore(state, stateFile, secret);
  }

  getKey(keyId: string): StoredKey | undefined {
    return this.state.keys.get(keyId);
  }

  getAlias(name: string): StoredAlias | undefined {
    return this.state.aliases.get(name);
  }

  listKeys(): StoredKey[] {
    return [...this.state.keys.values()];
  }

  listAliases(): StoredAlias[] {
    return [...this.state.aliases.values()];
  }

  createKey(input: { description?: string; policy: KeyPolicy }): Promise<StoredKey> {
    return this.mutate((draft) => {
      const key: StoredKey = {
        keyId: randomUUID(),
        material: randomBytes(32),
        description: input.description ?? '',
        policy: input.policy,
        enabled: true,
        createdAt: new Date(),
      };
      draft.keys.set(key.keyId, key);
      return key;
    });
  }

  createAlias(name: string, keyId: string): Promise<StoredAlias> {
    return this.mutate((draft) => {
      if (draft.aliases.has(name)) throw new KmsError('AlreadyExistsException', `Alias ${name} already exists`);
      if (!draft.keys.has(keyId)) throw new KmsError('NotFoundException', `Key ${keyId} does not exist`);
      const alias = { name, keyId, createdAt: new Date() };
      draft.aliases.set(name, alias);
      return alias;
    });
  }

  updateKey(keyId: string, change: Partial<Pick<StoredKey, 'enabled' | 'policy' | 'description'>>): Promise<StoredKey> {
    return this.mutate((draft) => {
      const current = draft.keys.get(keyId);
      if (!current) throw new KmsError('NotFoundException', `Key ${keyId} does not exist`);
      const next = { ...current, ...change };
      draft.keys.set(keyId, next);
      return next;
    });
  }

  private mutate<T>(change: (draft: Snapshot) => T): Promise<T> {
    const run = async () => {
      const draft: Snapshot = { keys: new Map(this.state.keys), aliases: new Map(this.state.aliases) };
      const result = change(draft);
      const json = JSON.stringify(toPersisted(draft));
      await writeSealedFile(this.stateFile, this.secret, STATE_PURPOSE, Buffer.from(json, 'utf8'));
      this.state = draft;
      return result;
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function emptySnapshot(): Snapshot {
  return { keys: new Map(), aliases: new Map() };
}

function toPersisted(snapshot: Snapshot): PersistedState {
  return {
    version: 1,
    keys: [...snapshot.keys.values()].map((k) => ({
      keyId: k.keyId,
      material: k.material.toString('base64'),
      description: k.description,
      policy: k.policy,
      enabled: k.enabled,
      createdAt: k.createdAt.toISOString(),
    })),
    aliases: [...snapshot.aliases.values()].map((a) => ({
      name: a.name,
      keyId: a.keyId,
      createdAt: a.createdAt.toISOString(),
    })),
  };
}

function fromPersisted(state: PersistedState): Snapshot {
  if (state.version !== 1) throw new Error(`unsupported KMS state version ${String(state.version)}`);
  const snapshot = emptySnapshot();
  for (const k of state.keys) {
    snapshot.keys.set(k.keyId, {
      keyId: k.keyId,
      material: Buffer.from(k.material, 'base64'),
      description: k.description,
      policy: parseKeyPolicy(k.policy),
      enabled: k.enabled,
      createdAt: new Date(k.createdAt),
    });
  }
  for (const a of state.aliases) snapshot.aliases.set(a.name, { ...a, createdAt: new Date(a.createdAt) });
  return snapshot;
}

async function fileExists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}
