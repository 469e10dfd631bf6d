import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore } from '@reelmesh/storage';
import { ChunkMeter } from './chunk-meter';
import { HttpError, toHttpError } from '@reelmesh/http-kit';
import type { KeyedMutex } from './keyed-mutex';
import { parseManifest, type HandoffManifest } from './manifest';
import type { SlotIndex } from './slot-index';
import type { UploadOutcome, UploadState } from './upload-state';

export const CHUNK_CONTENT_TYPES = new Set(['application/octet-stream', 'video/x-matroska', 'audio/x-matroska']);

export interface ChunkStorageEngineOptions {
  store: ObjectStore;
  index: SlotIndex;
  locks: KeyedMutex;
  maxChunks: number;
  maxFileSize: number;
  /** The request's state, set up by the router before multer runs. */
  stateOf(req: Request): UploadState | undefined;
}

type MulterFile = Parameters<StorageEngine['_handleFile']>[1];

/**
 * multer StorageEngine that streams the `chunk` part straight into an ObjectWriter, hashing and
 * counting on the way. It does not publish: the router commits only once the whole multipart
 * body parsed cleanly, and multer's _removeFile (any later error) aborts the writer instead.
 */
export class ChunkStorageEngine implements StorageEngine {
  constructor(private readonly options: ChunkStorageEngineOptions) {}

  _handleFile(req: Request, file: MulterFile, callback: (error?: unknown, info?: Partial<MulterFile>) => void): void {
    const state = this.options.stateOf(req);
    if (!state) {
      file.stream.resume();
      callback(new Error('handoff engine used outside the handoff router'));
      return;
    }
    this.receive(req, file, state).then(
      (outcome) => {
        state.outcome = outcome;
        callback(null, { size: outcome.kind === 'new' ? outcome.byteLength : outcome.record.byteLength });
      },
      async (error: unknown) => {
        await state.settle(error).catch(() => undefined);
        callback(toHttpError(error));
      },
    );
  }

  _removeFile(req: Request, _file: MulterFile, callback: (error: Error | null) => void): void {
    const state = this.options.stateOf(req);
    if (!state) return callback(null);
    // A later part failed the request: whatever this part wrote must go.
    state.settle(new Error('multipart request failed after the chunk part')).then(
      () => callback(null),
      () => callback(null),
    );
  }

  private async receive(req: Request, file: MulterFile, state: UploadState): Promise<UploadOutcome> {
    const manifest = this.checkPart(req, file, state);
    const { store, index, locks } = this.options;

    // One upload per slot at a time; a second one waits here with its body paused (backpressure),
    // then sees the first one's record and answers duplicate/conflict without storing.
    state.holdLock(await locks.acquire(state.key));
    const record = await index.read(state.slot, state.context);
    state.assertOpen();
    if (record) {
      if (record.sha256 !== manifest.sha256 || record.byteLength !== manifest.byteLength) {
        throw new HttpError(409, 'SLOT_CONFLICT', `chunk ${state.key} is already stored with a different digest`);
      }
      await drain(file.stream);
      return { kind: 'duplicate', manifest, record };
    }

    const writer = await store.createWriter(state.key, state.context);
    await state.adoptWriter(writer);
    const meter = new ChunkMeter(manifest.byteLength);
    await pipeline(file.stream, meter, writer.stream);
    if ((file.stream as Readable & { truncated?: boolean }).truncated) {
      throw new HttpError(413, 'CHUNK_TOO_LARGE', `chunk is larger than ${this.options.maxFileSize} bytes`);
    }
    if (meter.byteLength !== manifest.byteLength) {
      throw new HttpError(422, 'LENGTH_MISMATCH', `chunk has ${meter.byteLength} bytes, the manifest declares ${manifest.byteLength}`);
    }
    const sha256 = meter.digest();
    if (sha256 !== manifest.sha256) {
      throw new HttpError(422, 'DIGEST_MISMATCH', `chunk sha256 is ${sha256}, the manifest declares ${manifest.sha256}`);
    }
    return { kind: 'new', manifest, writer, sha256, byteLength: meter.byteLength };
  }

  /** Everything decidable before a byte of the chunk is read: part order, type, manifest, slot. */
  private checkPart(req: Request, file: MulterFile, state: UploadState): HandoffManifest {
    if (file.fieldname !== 'chunk') {
      throw new HttpError(400, 'UNEXPECTED_PART', `unexpected file part "${file.fieldname}": send field "manifest" then file "chunk"`);
    }
    if (state.outcome) throw new HttpError(400, 'UNEXPECTED_PART', 'only one "chunk" part is allowed');
    if (!CHUNK_CONTENT_TYPES.has(file.mimetype)) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `chunk part type "${file.mimetype}" is not one of ${[...CHUNK_CONTENT_TYPES].join(', ')}`);
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.manifest === undefined) {
      throw new HttpError(400, 'MANIFEST_MISSING', 'the "manifest" field must come before the "chunk" file part');
    }
    const extra = Object.keys(body).filter((name) => name !== 'manifest');
    if (extra.length > 0) throw new HttpError(400, 'UNEXPECTED_PART', `unexpected field "${extra[0]}": only "manifest" and "chunk" are allowed`);
    if (typeof body.manifest !== 'string') throw new HttpError(400, 'MANIFEST_INVALID', 'the "manifest" field must appear exactly once');

    const manifest = parseManifest(body.manifest);
    for (const field of ['workflowId', 'step', 'artifact', 'chunkIndex'] as const) {
      if (manifest[field] !== state.slot[field]) {
        throw new HttpError(400, 'MANIFEST_MISMATCH', `manifest.${field} (${JSON.stringify(manifest[field])}) differs from the URL (${JSON.stringify(state.slot[field])})`);
      }
    }
    if (manifest.chunkCount > this.options.maxChunks) {
      throw new HttpError(400, 'CHUNK_OUT_OF_RANGE', `manifest.chunkCount ${manifest.chunkCount} exceeds this agent's limit of ${this.options.maxChunks}`);
    }
    if (manifest.byteLength > this.options.maxFileSize) {
      throw new HttpError(413, 'CHUNK_TOO_LARGE', `manifest.byteLength ${manifest.byteLength} exceeds the limit of ${this.options.maxFileSize} bytes`);
    }
    return manifest;
  }
}

/** Read and discard a part we already have. */
async function drain(stream: Readable): Promise<void> {
  stream.resume();
  if (stream.readableEnded) return;
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.once('close', resolve);
  });
}
