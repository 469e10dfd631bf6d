import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, HttpError, sendJson } from '@reelmesh/http-kit';
import type { requestRecord } from './access-log';

/**
 * The pod's own secret on the two plain hops inside a pod: the proxy adds it to every request it
 * forwards to the app, and the app adds it to every request it sends through the proxy's outbound
 * listener. Same name as the app checks (@reelmesh/agent-kit POD_TOKEN_HEADER); a caller's own copy
 * never crosses the mesh (headers.ts strips it both ways).
 */
export const POD_TOKEN_HEADER = 'x-reelmesh-pod-token';

/** Whether `req` carries exactly the pod's token (compared in constant time, as digests). */
export function hasPodToken(req: IncomingMessage, token: string): boolean {
  const presented = req.headers[POD_TOKEN_HEADER];
  return typeof presented === 'string' && timingSafeEqual(digest(presented), digest(token));
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * A listener private to its pod (the outbound one): without the pod's token the request is refused
 * with 403 POD_PRIVATE before anything is forwarded, and access-logged. True when refused. The
 * answer comes from the headers alone and the connection is left to the caller (not reset under an
 * upload still in progress): a sender reads the 403, final, instead of a network error it would retry.
 */
export function refusedOutsidePod(req: IncomingMessage, res: ServerResponse, token: string | undefined, entry: ReturnType<typeof requestRecord>['entry']): boolean {
  if (token === undefined || hasPodToken(req, token)) return false;
  sendJson(res, 403, errorBody(new HttpError(403, 'POD_PRIVATE', "this listener takes requests only from its own pod's app")));
  entry('deny', 403, 0, 'missing or wrong pod token');
  return true;
}
