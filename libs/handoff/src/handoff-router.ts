import { Router, type NextFunction, type Request, type Response } from 'express';
import { HANDOFF_PREFIX } from '@reelmesh/addressing';
import multer from 'multer';
import type { Logger } from 'pino';
import type { ObjectStore } from '@reelmesh/storage';
import { ChunkStorageEngine } from './chunk-storage-engine';
import { chunkKey, MAX_CHUNKS, parseSlotTarget, type ChunkSlot } from './chunk-key';
import { HttpError, toHttpError } from '@reelmesh/http-kit';
import { KeyedMutex } from './keyed-mutex';
import { fromMulterError } from './multer-errors';
import type { ReceivedChunk } from './received-chunk';
import { SlotIndex } from './slot-index';
import { UploadState } from './upload-state';

export interface HandoffLimits {
  /** Largest chunk in bytes (default 512 MiB). */
  fileSize: number;
  /** Most non-file fields (default 2; only `manifest` is accepted). */
  fields: number;
  /** Largest field value, i.e. the manifest, in bytes (default 64 KiB). */
  fieldSize: number;
  /** Most parts in total (default 2: `manifest`, `chunk`). */
  parts: number;
}

export interface HandoffRouterOptions {
  workflowId: string;
  /** This agent's name: the `agent` of every stored object's context. */
  agent: string;
  store: ObjectStore;
  /** Does this agent have `step` with an input named `artifact`? */
  accepts(step: string, artifact: string): boolean;
  /** Highest chunk count accepted (default and ceiling 100000, the 5-digit key format). */
  maxChunks?: number;
  limits?: Partial<HandoffLimits>;
  /** Called once per NEW chunk after it is committed; a throw undoes the store and fails the request. */
  onReceived(chunk: ReceivedChunk): void | Promise<void>;
  /**
   * Called after a chunk this agent already holds was sent again and answered `duplicate`: a
   * sender that restarted, or the owner re-dispatching a chunk missing downstream (the agent may
   * take it as a nudge to resume or re-send that chunk's work).
   */
  onDuplicate?(chunk: ChunkSlot): void;
  logger?: Logger;
}

export const DEFAULT_LIMITS: HandoffLimits = { fileSize: 512 * 1024 * 1024, fields: 2, fieldSize: 64 * 1024, parts: 2 };

/** Every path under the handoff prefix: the raw target is parsed by the one handoff-address rule. */
const UNDER_HANDOFFS = `${HANDOFF_PREFIX}/{*rest}`;

/**
 * POST /v1/handoffs/<workflow>/<step>/<artifact>/<chunk> — receive one chunk (see
 * docs/handoff-protocol.md). Checks run cheapest first, so a bad request is refused before a
 * byte of media is read; nothing is published unless the whole body parsed and verified.
 */
export function createHandoffRouter(options: HandoffRouterOptions): Router {
  // Unset (undefined) entries keep their defaults rather than silently lifting a limit.
  const given = Object.entries(options.limits ?? {}).filter(([, value]) => value !== undefined);
  const limits: HandoffLimits = { ...DEFAULT_LIMITS, ...Object.fromEntries(given) };
  const maxChunks = Math.min(options.maxChunks ?? MAX_CHUNKS, MAX_CHUNKS);
  const states = new WeakMap<Request, UploadState>();
  const index = new SlotIndex(options.store);
  const engine = new ChunkStorageEngine({
    store: options.store,
    index,
    locks: new KeyedMutex(),
    maxChunks,
    maxFileSize: limits.fileSize,
    stateOf: (req) => states.get(req),
  });
  const upload = multer({ storage: engine, limits }).any();
  const router = Router();

  const preflight = (req: Request, res: Response, next: NextFunction) => {
    const slot = parseSlotTarget(req.originalUrl, maxChunks);
    if (slot.workflowId !== options.workflowId) throw new HttpError(404, 'UNKNOWN_WORKFLOW', `unknown workflow "${slot.workflowId}"`);
    if (!options.accepts(slot.step, slot.artifact)) {
      throw new HttpError(404, 'UNKNOWN_STEP', `agent ${options.agent} has no step "${slot.step}" taking artifact "${slot.artifact}"`);
    }
    if (!req.is('multipart/form-data')) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data with field "manifest" then file "chunk"');
    }
    const declared = Number(req.headers['content-length']);
    if (declared > limits.fileSize + limits.fieldSize * limits.fields + 64 * 1024) {
      throw new HttpError(413, 'CHUNK_TOO_LARGE', `request body of ${declared} bytes exceeds the chunk size limit of ${limits.fileSize} bytes`);
    }
    const state = new UploadState(slot, chunkKey(slot), { workflowId: slot.workflowId, step: slot.step, agent: options.agent });
    states.set(req, state);
    // Whatever way the exchange ends, the lock and any unpublished bytes are given back.
    res.once('close', () => {
      if (!state.committing) void state.settle(new Error('request closed')).catch(() => undefined);
    });
    next();
  };

  const receive = (req: Request, res: Response, next: NextFunction) => {
    upload(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      // Remove whatever the chunk part wrote BEFORE answering: the client must never be told
      // "refused" while a partial file still exists.
      const state = states.get(req);
      void (state ? state.settle(error).catch(() => undefined) : Promise.resolve()).then(() => next(fromMulterError(error)));
    });
  };

  const publish = async (req: Request, res: Response) => {
    const state = states.get(req)!;
    const log = options.logger?.child({ workflowId: state.slot.workflowId, step: state.slot.step, artifact: state.slot.artifact, chunk: state.slot.chunkIndex });
    try {
      const outcome = state.outcome;
      if (!outcome) {
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (body.manifest === undefined) throw new HttpError(400, 'MANIFEST_MISSING', 'the "manifest" field is missing');
        throw new HttpError(400, 'CHUNK_MISSING', 'the "chunk" file part is missing');
      }
      if (outcome.kind === 'duplicate') {
        log?.info({ sha256: outcome.record.sha256 }, 'duplicate chunk ignored');
        res.status(200).json({ status: 'duplicate', key: outcome.record.key, sha256: outcome.record.sha256, byteLength: outcome.record.byteLength });
        options.onDuplicate?.(state.slot);
        return;
      }
      state.committing = true;
      await outcome.writer.commit();
      state.published();
      const { manifest } = outcome;
      const chunk: ReceivedChunk = { ...state.slot, chunkCount: manifest.chunkCount, key: state.key, sha256: outcome.sha256, byteLength: outcome.byteLength, manifest };
      await index.write(state.slot, state.context, {
        version: 1,
        key: state.key,
        sha256: outcome.sha256,
        byteLength: outcome.byteLength,
        chunkCount: manifest.chunkCount,
        producer: manifest.producer,
        storedAt: new Date().toISOString(),
        manifest,
      }).catch(async (error: unknown) => {
        await options.store.remove(state.key);
        throw error;
      });
      try {
        await options.onReceived(chunk);
      } catch (error) {
        // Undo, so the sender's retry is treated as new and the chunk is not silently dropped.
        await index.remove(state.slot);
        await options.store.remove(state.key);
        // One rule for what an error answers (a full volume is 507, the sender retries).
        throw toHttpError(error);
      }
      log?.info({ key: state.key, sha256: chunk.sha256, byteLength: chunk.byteLength }, 'chunk stored');
      res.status(201).json({ status: 'stored', key: state.key, sha256: chunk.sha256, byteLength: chunk.byteLength });
    } finally {
      state.committing = false;
      await state.settle();
    }
  };

  router.post(UNDER_HANDOFFS, preflight, receive, publish);
  router.all(UNDER_HANDOFFS, (req) => {
    // A malformed target is refused as it would be on POST; a well-formed one only takes POST.
    parseSlotTarget(req.originalUrl, maxChunks);
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed here; use POST`);
  });
  return router;
}
