import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PARTIAL_PREFIX, partialPathOf, publishFile } from './atomic-file';
import type { CommittedObject, ObjectContext, ObjectStore, ObjectWriter } from './object-store';
import { safeKey } from './safe-key';

/** Hashes and counts bytes as they pass. */
export class DigestCounter extends Transform {
  private readonly hash = createHash('sha256');
  byteLength = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void): void {
    this.hash.update(chunk);
    this.byteLength += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

export interface FsObjectStoreOptions {
  /** Transform between the plaintext and the file on write (the sealed store encrypts here). */
  encode?: (key: string, context: ObjectContext) => Promise<Transform>;
  /** Transform between the file and the reader (the sealed store decrypts here). */
  decode?: (key: string, context: ObjectContext) => Promise<Transform>;
}

/**
 * Name the object and the volume (the storing agent's) on a file-system error of a write, keeping
 * the error itself (its `code`, e.g. ENOSPC, is what the HTTP layer maps: 507 for a full volume).
 */
function locateError(error: unknown, key: string, context: ObjectContext): unknown {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && !('objectKey' in error)) {
    Object.assign(error, { objectKey: key, volume: context.agent });
  }
  return error;
}

/**
 * Plain files under `root`, written atomically (see atomic-file.ts): a hidden partial file beside
 * the target is published on commit and deleted on abort, so a failed write leaves nothing behind.
 */
export class FsObjectStore implements ObjectStore {
  constructor(
    readonly root: string,
    private readonly options: FsObjectStoreOptions = {},
  ) {}

  pathOf(key: string): string {
    return join(this.root, ...safeKey(key).split('/'));
  }

  async createWriter(key: string, context: ObjectContext): Promise<ObjectWriter> {
    const target = this.pathOf(key);
    const located = (error: unknown) => locateError(error, key, context);
    await mkdir(dirname(target), { recursive: true }).catch((error: unknown) => {
      throw located(error);
    });
    const partial = partialPathOf(target);
    const input = new PassThrough({ highWaterMark: 256 * 1024 });
    const counter = new DigestCounter();
    const stages: NodeJS.ReadWriteStream[] = [counter];
    // The encoder first: if it cannot start (say KMS is down), no file is ever created.
    if (this.options.encode) stages.push(await this.options.encode(key, context));
    const file = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
    // Say which object failed before the error travels on (the pipeline hands this very error to
    // the writer's stream, so whoever pipes into it sees ENOSPC with the key and volume).
    file.once('error', located);
    const done = pipeline(input, ...(stages as [Transform]), file);
    done.catch(() => undefined); // observed in commit/abort
    let settled = false;
    const abort = async (reason?: unknown) => {
      if (settled) return;
      settled = true;
      input.destroy(reason instanceof Error ? reason : undefined);
      await done.catch(() => undefined);
      await rm(partial, { force: true });
    };
    return {
      key,
      stream: input,
      async commit(): Promise<CommittedObject> {
        if (settled) throw new Error(`object ${key} was already settled`);
        if (!input.writableEnded) input.end();
        try {
          await done;
        } catch (error) {
          await abort(error);
          throw error;
        }
        settled = true;
        await publishFile(partial, target).catch(async (error: unknown) => {
          await rm(partial, { force: true });
          throw located(error);
        });
        return { key, sha256: counter.digest(), byteLength: counter.byteLength };
      },
      abort,
    };
  }

  async createReadStream(key: string, context: ObjectContext): Promise<Readable> {
    const path = this.pathOf(key);
    await stat(path); // ENOENT surfaces here, before anyone pipes
    const file = createReadStream(path, { highWaterMark: 256 * 1024 });
    if (!this.options.decode) return file;
    let decoder: Transform;
    try {
      decoder = await this.options.decode(key, context);
    } catch (error) {
      file.destroy();
      throw error;
    }
    file.on('error', (e) => decoder.destroy(e));
    decoder.on('error', () => file.destroy());
    decoder.on('close', () => file.destroy());
    return file.pipe(decoder);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch {
      return false;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const base = prefix ? this.pathOf(prefix) : this.root;
    const out: string[] = [];
    const walk = async (dir: string) => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && !entry.name.startsWith(PARTIAL_PREFIX)) out.push(relative(this.root, full).split(sep).join('/'));
      }
    };
    await walk(base);
    return out.sort();
  }
}
