import { isSafeSegment, safeKey } from '@reelmesh/storage';
import { HttpError } from './http-error';

/** One slot a chunk can fill: (workflow, receiving step, input artifact, chunk index). */
export interface ChunkSlot {
  workflowId: string;
  step: string;
  artifact: string;
  chunkIndex: number;
}

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

function assertChunkIndex(chunkIndex: number): void {
  if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= MAX_CHUNKS) {
    throw new RangeError(`chunk index ${chunkIndex} is not an integer in [0, ${MAX_CHUNKS})`);
  }
}

const unsafe = (what: string, value: string) =>
  new HttpError(400, 'UNSAFE_NAME', `${what} ${JSON.stringify(value)} is not a safe name (letters, digits, '.', '-', '_'; no '/', no '..')`);

/**
 * Check the route's (already URL-decoded) parameters. Anything that could walk out of the
 * store's tree is UNSAFE_NAME, whichever segment it is in; a chunk index that is merely not
 * a number in range is CHUNK_OUT_OF_RANGE.
 */
export function parseSlotParams(params: Record<string, string | undefined>, maxChunks: number): ChunkSlot {
  const { workflowId = '', step = '', artifact = '', chunkIndex = '' } = params;
  for (const [what, value] of [['workflow id', workflowId], ['step', step], ['artifact', artifact]] as const) {
    if (!isSafeSegment(value)) throw unsafe(what, value);
  }
  if (/[/\\\0]|\.\./.test(chunkIndex)) throw unsafe('chunk index', chunkIndex);
  if (!/^\d{1,6}$/.test(chunkIndex) || Number(chunkIndex) >= maxChunks) {
    throw new HttpError(400, 'CHUNK_OUT_OF_RANGE', `chunk index ${JSON.stringify(chunkIndex)} must be an integer in [0, ${maxChunks})`);
  }
  return { workflowId, step, artifact, chunkIndex: Number(chunkIndex) };
}
