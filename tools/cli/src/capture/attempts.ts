import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { accessMatrix, isAllowed } from '@reelmesh/workflow';
import type { LocalRuntime } from '@reelmesh/runtime';
import { attempt, candidatePaths, localVerdict, METHODS, type VerifyRow } from '../verify-matrix';

export const MARKER_HEADER = 'x-reelmesh-marker';
/** A marker is unique per attempt and never occurs by chance: rmk + 16 hex digits. */
export const MARKER_PATTERN = /rmk[0-9a-f]{16}/g;
/** Matroska's EBML DocType element ("matroska"): the media magic put in every body we send. */
export const MEDIA_MAGIC = Buffer.from([0x42, 0x82, 0x88, ...Buffer.from('matroska')]);
const EBML_HEADER = Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x93]);

/** Codes only the mesh answers with: the call never reached the destination app. */

export interface Attempt extends VerifyRow {
  id: number;
  marker: string;
  /** Window of the exchange, microseconds since the epoch. */
  startUs: number;
  endUs: number;
}

const nowUs = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

function send(outbound: string, podHeaders: Record<string, string>, destination: string, method: string, path: string, marker: string): Promise<{ status: number; code?: string }> {
  // A body that looks like the start of a Matroska chunk, marker inside: if it ever shows up in
  // plaintext on a veth, the capture classifier finds it.
  const body = method === 'POST' || method === 'PUT' ? Buffer.concat([EBML_HEADER, MEDIA_MAGIC, Buffer.from(` ${marker} `)]) : Buffer.alloc(0);
  return attempt(outbound, destination, method, path, { body, headers: { ...podHeaders, [MARKER_HEADER]: marker, 'content-type': 'video/x-matroska' } });
}

/**
 * Every (source, destination, method, path) of the access matrix, one at a time so each has its
 * own time window in the captures, each with its own marker header.
 */
export async function runAttempts(
  runtime: LocalRuntime,
  opts: { settleMs?: number; pairs?: Array<{ source: string; destination: string }> } = {},
): Promise<Attempt[]> {
  const workflow = runtime.workflow;
  const matrix = accessMatrix(workflow);
  const agents = workflow.agents.map((a) => a.name);
  const attempts: Attempt[] = [];
  const pairs = opts.pairs ?? agents.flatMap((source) => agents.map((destination) => ({ source, destination })));
  for (const { source, destination } of pairs)
      for (const method of METHODS)
        for (const path of candidatePaths(workflow)) {
          const { pod, headers } = runtime.agents[source];
          if (!pod) throw new Error('capture needs the mesh (pods with sidecars)');
          const marker = `rmk${randomBytes(8).toString('hex')}`;
          const expected = isAllowed(matrix, source, destination, method, path) ? 'allow' : 'deny';
          const startUs = nowUs();
          const { status, code } = await send(pod.outboundUrl, headers, destination, method, path, marker);
          const endUs = nowUs();
          const actual = localVerdict(code);
          attempts.push({ id: attempts.length, marker, source, destination, method, path, expected, actual, status, code, startUs, endUs });
          await new Promise((r) => setTimeout(r, opts.settleMs ?? 2));
        }
  return attempts;
}
