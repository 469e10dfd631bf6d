import type { Readable, Writable } from 'node:stream';

/**
 * What an object is, for whoever stores it. The sealed store (libs/envelope) binds these
 * fields into the KMS encryption context, so an object opens only in its own context.
 */
export interface ObjectContext {
  workflowId: string;
  /** The workflow step the object belongs to (the step that received or produced it). */
  step: string;
  /** The agent storing the object. */
  agent: string;
  /** Agents allowed to open the object besides the one storing it (e.g. its next hop). */
  recipients?: string[];
}

export interface CommittedObject {
  key: string;
  /** sha256 (hex) of the plaintext bytes written. */
  sha256: string;
  /** Plaintext byte length. */
  byteLength: number;
}

/** A write in progress: bytes go to `stream`; nothing is visible under `key` until commit(). */
export interface ObjectWriter {
  readonly key: string;
  readonly stream: Writable;
  /** Wait for the stream to finish, then publish atomically. Returns the plaintext digest. */
  commit(): Promise<CommittedObject>;
  /** Remove every trace of the write (idempotent). */
  abort(reason?: unknown): Promise<void>;
}

/**
 * Storage of an agent's objects (its "volume"). Keys are slash-separated relative names made
 * of safe segments (see safeKey). Implementations: FsObjectStore (plain files, for tests and
 * security-off baselines) and the sealed store in libs/envelope.
 */
export interface ObjectStore {
  readonly root: string;
  createWriter(key: string, context: ObjectContext): Promise<ObjectWriter>;
  createReadStream(key: string, context: ObjectContext): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  remove(key: string): Promise<void>;
  list(prefix: string): Promise<string[]>;
}
