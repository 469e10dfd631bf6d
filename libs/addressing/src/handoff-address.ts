// The one address of a chunk handoff: POST /v1/handoffs/<workflow>/<step>/<artifact>/<chunk>,
// where <step> is the RECEIVING step. Senders build it here, receivers and the policy engine read
// it here, the access matrix and the policy generator derive their paths from it. (The Rego in
// policies/reelmesh/authz reads the same shape; the shared decision vectors keep the two in step.)
import { assertName, isName } from './names';

export const HANDOFF_PREFIX = '/v1/handoffs';
/** The Express route of the receiver. */
export const HANDOFF_ROUTE = `${HANDOFF_PREFIX}/:workflowId/:step/:artifact/:chunkIndex`;
/** Stands for the chunk index in access-matrix path patterns. */
export const CHUNK_PLACEHOLDER = '{chunk}';
/**
 * The chunk index as it appears in a path: a canonical decimal — no sign, no leading zeros, at
 * most 15 digits (so it is a safe integer). "007", "+7", "7.0" and "%37" are not chunk 7.
 */
export const CHUNK_INDEX_PATTERN = '^(0|[1-9][0-9]{0,14})$';
const CHUNK_INDEX = new RegExp(CHUNK_INDEX_PATTERN);

export interface HandoffAddress {
  readonly workflowId: string;
  readonly step: string;
  readonly artifact: string;
  readonly chunkIndex: number;
}

/** The chunk index a path segment names, or undefined if it is not a canonical decimal. */
export function parseChunkIndex(segment: string): number | undefined {
  return CHUNK_INDEX.test(segment) ? Number(segment) : undefined;
}

/** handoffPath({ workflowId: 'feature-film', step: 'demux', artifact: 'av', chunkIndex: 3 }) -> '/v1/handoffs/feature-film/demux/av/3'. */
export function handoffPath(address: HandoffAddress): string {
  const { chunkIndex } = address;
  if (!Number.isSafeInteger(chunkIndex) || parseChunkIndex(String(chunkIndex)) !== chunkIndex) {
    throw new RangeError(`chunk index must be an integer from 0 to 999999999999999 (15 digits), got ${chunkIndex}`);
  }
  return handoffPattern(address.workflowId, address.step, address.artifact).replace(CHUNK_PLACEHOLDER, String(chunkIndex));
}

/** The path with the chunk index left as {chunk}: '/v1/handoffs/feature-film/demux/av/{chunk}'. */
export function handoffPattern(workflowId: string, step: string, artifact: string): string {
  assertName('workflow id', workflowId);
  assertName('step', step);
  assertName('artifact', artifact);
  return `${HANDOFF_PREFIX}/${workflowId}/${step}/${artifact}/${CHUNK_PLACEHOLDER}`;
}

/** The name a handoff's slot goes by in provenance subjects and logs: 'feature-film/demux/av/3'. */
export function handoffSubject(address: HandoffAddress): string {
  return handoffPath(address).slice(HANDOFF_PREFIX.length + 1);
}

export interface HandoffSegments {
  readonly workflowId: string;
  readonly step: string;
  readonly artifact: string;
  readonly chunkIndex: number;
}

/**
 * The segments of a RAW request target (no decoding, no normalisation) when it has the handoff
 * shape: exactly "/v1/handoffs/<a>/<b>/<c>/<chunk>" with a canonical chunk index. The names are
 * NOT checked: the policy engine looks them up (an unknown one is a reason of its own). A query
 * string is part of the last segment, so it fails the chunk rule.
 */
export function splitHandoffPath(target: unknown): HandoffSegments | undefined {
  if (typeof target !== 'string') return undefined;
  const segments = target.split('/');
  if (segments.length !== 7) return undefined;
  const [root, version, kind, workflowId, step, artifact, chunk] = segments;
  if (`${root}/${version}/${kind}` !== HANDOFF_PREFIX) return undefined;
  const chunkIndex = parseChunkIndex(chunk);
  return chunkIndex === undefined ? undefined : { workflowId, step, artifact, chunkIndex };
}

export type HandoffPathCheck =
  | { readonly ok: true; readonly address: HandoffAddress }
  | { readonly ok: false; readonly problem: 'not-handoff' }
  | { readonly ok: false; readonly problem: 'name'; readonly field: 'workflow id' | 'step' | 'artifact'; readonly value: string }
  | { readonly ok: false; readonly problem: 'chunk'; readonly value: string };

/** What a receiver needs: the address, or which part of the raw target breaks the rules. */
export function checkHandoffPath(target: string): HandoffPathCheck {
  const segments = target.split('/');
  if (segments.length < 4 || `${segments[0]}/${segments[1]}/${segments[2]}` !== HANDOFF_PREFIX) return { ok: false, problem: 'not-handoff' };
  const [workflowId = '', step = '', artifact = '', ...rest] = segments.slice(3);
  for (const [field, value] of [['workflow id', workflowId], ['step', step], ['artifact', artifact]] as const) {
    if (!isName(value)) return { ok: false, problem: 'name', field, value };
  }
  const chunk = rest.join('/');
  const chunkIndex = parseChunkIndex(chunk);
  if (chunkIndex === undefined) return { ok: false, problem: 'chunk', value: chunk };
  return { ok: true, address: { workflowId, step, artifact, chunkIndex } };
}

/** The address of an exact, valid handoff target, or undefined for anything else. */
export function parseHandoffPath(target: string): HandoffAddress | undefined {
  const check = checkHandoffPath(target);
  return check.ok ? check.address : undefined;
}
