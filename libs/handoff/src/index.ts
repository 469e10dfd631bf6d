export { createHandoffRouter, DEFAULT_LIMITS, type HandoffLimits, type HandoffRouterOptions } from './handoff-router';
export type { ReceivedChunk } from './received-chunk';
export {
  buildManifest,
  parseManifest,
  validateManifest,
  type HandoffManifest,
  type ManifestInput,
  type MediaInfo,
  type StreamInfo,
} from './manifest';
export { schema as manifestSchema } from './manifest.validator';
export { chunkKey, slotRecordKey, slotRecordPrefix, slotOfRecordKey, padChunkIndex, MAX_CHUNKS, type ChunkSlot } from './chunk-key';
export { SlotIndex, type SlotRecord } from './slot-index';
export { sendChunk, type SendChunkOptions, type SendChunkResult } from './send-chunk';
export { HandoffError } from './handoff-error';
export { DEFAULT_RETRY, backoffDelay, type RetryPolicy } from './backoff';
export { digestStream } from './digest-stream';
