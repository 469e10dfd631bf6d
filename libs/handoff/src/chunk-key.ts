import { checkHandoffPath, type HandoffAddress } from '@reelmesh/addressing';
import { HttpError } from '@reelmesh/http-kit';
import { safeKey } from '@reelmesh/storage';

/** One slot a chunk can fill: its handoff address (workflow, receiving step, input artifact, chunk index). */
export type ChunkSlot = HandoffAddress;

/** Widest index the 5-digit key format holds. */
export const MAX_CHUNKS = 100_000;

export const padChunkIndex = (chunkIndex: number): string => String(chunkIndex).padStart(5, '0');

/** Where a received chunk is stored: `<workflowId>/<step>/<artifact>/<00042>.mkv`. */
export function chunkKey(slot: ChunkSlot): string {
  assertChunkIndex(slot.chunkIndex);
  return safeKey(`${slot.workflowId}/${slot.step}/${slot.artifact}/${padChunkIndex(slot.chunkIndex)}.mkv`);
}

/** Where the slot's durable index record lives (apart from the media, so listings stay clean). */
export function slotRecordKey(slot: ChunkSlot): string {
  assertChunkIndex(slot.chunkIndex);
  return safeKey(`handoff-slots/${slot.workflowId}/${slot.step}/${slot.artifact}/${padChunkIndex(slot.chunkIndex)}.json`);
}

/** Where the slot records of one receiving step live (a listing prefix). */
export function slotRecordPrefix(workflowId: string, step: string): string {
  return safeKey(`handoff-slots/${workflowId}/${step}`);
}

/** The slot a record key names (the inverse of slotRecordKey); undefined for any other key. */
export function slotOfRecordKey(key: string): ChunkSlot | undefined {
  const m = /^handoff-slots\/([^/]+)\/([^/]+)\/([^/]+)\/(\d{5})\.json$/.exec(key);
  return m ? { workflowId: m[1], step: m[2], artifact: m[3], chunkIndex: Number(m[4]) } : undefined;
}

function assertChunkIndex(chunkIndex: number): void {
  if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= MAX_CHUNKS) {
    throw new RangeError(`chunk index ${chunkIndex} is not an integer in [0, ${MAX_CHUNKS})`);
  }
}

/** Anything that could walk out of the store's tree, once decoded. */
const TRAVERSAL = /[/\\\0]|\.\./;

/**
 * The slot a handoff request names, read from its RAW target (path and query, as sent) with the
 * one handoff-address rule the policy also applies — so `/007`, `%37` or `7?x` is refused here
 * exactly as the mesh refuses it. A segment that is not a name is UNSAFE_NAME; a chunk index that
 * is not a canonical decimal in range is CHUNK_OUT_OF_RANGE (UNSAFE_NAME if it tries a traversal).
 */
export function parseSlotTarget(target: string, maxChunks: number): ChunkSlot {
  const check = checkHandoffPath(target);
  if (check.ok) {
    if (check.address.chunkIndex >= maxChunks) throw outOfRange(String(check.address.chunkIndex), maxChunks);
    return { ...check.address };
  }
  if (check.problem === 'name') {
    throw new HttpError(400, 'UNSAFE_NAME', `${check.field} ${JSON.stringify(check.value)} is not a valid name (a-z, 0-9 and "-"; no "/", "%", "..")`);
  }
  if (check.problem === 'chunk') {
    if (TRAVERSAL.test(decodeLoosely(check.value))) throw new HttpError(400, 'UNSAFE_NAME', `chunk index ${JSON.stringify(check.value)} is not a safe name`);
    throw outOfRange(check.value, maxChunks);
  }
  throw new HttpError(404, 'NOT_FOUND', `${target} is not a handoff path`);
}

const outOfRange = (value: string, maxChunks: number) =>
  new HttpError(400, 'CHUNK_OUT_OF_RANGE', `chunk index ${JSON.stringify(value)} must be a canonical decimal integer (no sign, no leading zeros) in [0, ${maxChunks})`);

function decodeLoosely(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
