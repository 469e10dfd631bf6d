import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, toHttpError, type HttpError } from './http-error';

/** A JSON answer with an exact Content-Length. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

/**
 * The one JSON error answer of a plain node:http service: `{"error":{"code","message"}}` plus any
 * `extra` fields a protocol needs beside it (OPA clients read a top-level code and message).
 * When the request body was not read to the end, the connection is closed rather than drained.
 */
export function sendError(req: IncomingMessage | undefined, res: ServerResponse, thrown: unknown, extra?: (error: HttpError) => Record<string, unknown>): HttpError {
  const error = toHttpError(thrown);
  if (res.headersSent) {
    res.destroy();
    return error;
  }
  const unread = req !== undefined && !req.complete;
  sendJson(res, error.status, { ...extra?.(error), ...errorBody(error) }, unread ? { connection: 'close' } : undefined);
  return error;
}
