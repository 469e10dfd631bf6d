import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { FsObjectStore, safeKey, type ObjectContext, type ObjectStore, type ObjectWriter } from '@reelmesh/storage';
import { callProvider, type DataKeyProvider } from './data-key-provider';
import { kmsContextOf, OBJECT_CONTEXT_KEY, sameContext, type EncryptionContext } from './encryption-context';
import { EnvelopeError } from './envelope-error';
import { openStream } from './open-stream';
import { readHeader } from './read-header';
import { sealStream } from './seal-stream';

export interface SealedObjectStoreOptions {
  /** Directory of the agent's volume. */
  root: string;
  /** Usually a DataKeyCache over a KmsDataKeyProvider. */
  provider: DataKeyProvider;
  frameSize?: number;
}

/**
 * The encryption context of one stored object. Recipients are sorted so the same set always
 * gives the same context; `object` is the store key (authenticated, not sent to KMS).
 */
export function objectEncryptionContext(key: string, context: ObjectContext): EncryptionContext {
  const out: EncryptionContext = { workflow: context.workflowId, step: context.step, agent: context.agent, [OBJECT_CONTEXT_KEY]: key };
  if (context.recipients && context.recipients.length > 0) out.recipients = [...context.recipients].sort().join(',');
  return out;
}

/**
 * An ObjectStore whose files are envelopes: sealed while streaming in, opened while streaming
 * out. The data key is obtained before any file is created, so an unreachable KMS fails the
 * write with ENVELOPE_KMS_UNAVAILABLE and leaves nothing on disk.
 */
export class SealedObjectStore implements ObjectStore {
  readonly root: string;
  private readonly files: FsObjectStore;
  #sealedBytes = 0;

  constructor(private readonly options: SealedObjectStoreOptions) {
    this.root = options.root;
    this.files = new FsObjectStore(options.root);
  }

  async createWriter(key: string, context: ObjectContext): Promise<ObjectWriter> {
    safeKey(key);
    const encryptionContext = objectEncryptionContext(key, context);
    const dataKey = await callProvider('KMS GenerateDataKey', () => this.options.provider.generate(kmsContextOf(encryptionContext)));
    try {
      const meter = dataKey.countBytes;
      const counted = { ...dataKey, countBytes: (bytes: number) => ((this.#sealedBytes += bytes), meter?.(bytes)) };
      const seal = sealStream({ context: encryptionContext, dataKey: counted, frameSize: this.options.frameSize });
      // A store per writer so the encode hook carries this object's already-fetched key.
      return await new FsObjectStore(this.root, { encode: async () => seal }).createWriter(key, context);
    } finally {
      dataKey.plaintextKey.fill(0); // the seal stream derived its own frame key
    }
  }

  /**
   * Checks the header (context, key, commitment) before returning, so a wrong context or a KMS
   * refusal surfaces here rather than mid-pipe. Frame errors still arrive as stream errors.
   */
  async createReadStream(key: string, context: ObjectContext): Promise<Readable> {
    const path = this.files.pathOf(key);
    await stat(path);
    const expectedContext = objectEncryptionContext(key, context);
    const file = createReadStream(path, { highWaterMark: 256 * 1024 });
    try {
      const header = await readHeader(file);
      if (!sameContext(header.context, expectedContext)) {
        throw new EnvelopeError('ENVELOPE_CONTEXT_MISMATCH', `object ${key} was sealed under a different encryption context`);
      }
      const provider = this.options.provider;
      const dataKey = await callProvider('KMS Decrypt', () =>
        provider.unwrap({ keyId: header.keyId, wrappedKey: header.wrappedKey, context: kmsContextOf(header.context) }),
      );
      const open = openStream({ expectedContext, dataKey });
      dataKey.fill(0); // openStream keeps its own copy until it has derived the frame key
      file.on('error', (error) => open.destroy(error));
      open.once('close', () => file.destroy()); // pipe() would leave the fd open after an error or early destroy
      return file.pipe(open);
    } catch (error) {
      file.destroy();
      throw error;
    }
  }

  /** Plaintext bytes sealed into this volume by this process (an abandoned write counts what it sealed). */
  get sealedBytes(): number {
    return this.#sealedBytes;
  }

  exists(key: string): Promise<boolean> {
    return this.files.exists(key);
  }

  remove(key: string): Promise<void> {
    return this.files.remove(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.files.list(prefix);
  }
}
