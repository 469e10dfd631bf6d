// The one URL shape of a chunk handoff. The step segment is the RECEIVING step.
import { NAME_PATTERN } from './schema';

export const HANDOFF_ROUTE = '/v1/handoffs/:workflowId/:step/:artifact/:chunkIndex';
/** Stands for the chunk index in access-matrix path patterns. */
export const CHUNK_PLACEHOLDER = '{chunk}';

const NAME = new RegExp(NAME_PATTERN);
const HANDOFF_PATH = /^\/v1\/handoffs\/([a-z][a-z0-9-]{0,62})\/([a-z][a-z0-9-]{0,62})\/([a-z][a-z0-9-]{0,62})\/(0|[1-9][0-9]{0,14})$/;

export interface HandoffAddress {
  readonly workflowId: string;
  readonly step: string;
  readonly artifact: string;
  readonly chunkIndex: number;
}

/** handoffPath('feature-film', 'demux', 'av', 3) -> '/v1/handoffs/feature-film/demux/av/3'. */
export function handoffPath(workflowId: string, step: string, artifact: string, chunkIndex: number): string {
  if (!Number.isSafeInteger(chunkIndex) || chunkIndex < 0) {
    throw new RangeError(`chunk index must be a non-negative integer, got ${chunkIndex}`);
  }
  return handoffPattern(workflowId, step, artifact).replace(CHUNK_PLACEHOLDER, String(chunkIndex));
}

/** The path with the chunk index left as {chunk}: '/v1/handoffs/feature-film/demux/av/{chunk}'. */
export function handoffPattern(workflowId: string, step: string, artifact: string): string {
  // Names go straight into a URL, so only DNS-label names are accepted (no '/', '..', '%').
  for (const [label, value] of [['workflow id', workflowId], ['step', step], ['artifact', artifact]]) {
    if (!NAME.test(value)) throw new TypeError(`${label} must match ${NAME_PATTERN}, got ${JSON.stringify(value)}`);
  }
  return `/v1/handoffs/${workflowId}/${step}/${artifact}/${CHUNK_PLACEHOLDER}`;
}

/** The parts of an exact handoff path, or undefined for anything else (query strings included). */
export function parseHandoffPath(path: string): HandoffAddress | undefined {
  const match = HANDOFF_PATH.exec(path);
  if (!match) return undefined;
  const [, workflowId, step, artifact, chunk] = match;
  return { workflowId, step, artifact, chunkIndex: Number(chunk) };
}
