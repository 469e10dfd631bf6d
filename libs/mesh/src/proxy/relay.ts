import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendError } from '@reelmesh/http-kit';
import { forwardableResponseHeaders } from './headers';

export interface RelayOutcome {
  status: number;
  /** Body bytes relayed, request + response. */
  bytes: number;
  error?: string;
}

/**
 * Socket buffer (both directions) on the relay's plain and client-TLS hops. With node's default
 * (16 KiB) every 64 KiB read of a chunk upload overfilled the next hop's write buffer, so the
 * relay paused and resumed its source once per read (two epoll_ctl calls, a drain callback) and
 * wrote in small pieces. 256 KiB per socket keeps a large body flowing without a pause per read;
 * it is a bound, not a buffer that grows with the body (backpressure still applies past it).
 */
export const RELAY_HIGH_WATER_MARK = 256 * 1024;

/**
 * For an http(s).Agent: node's Agent hands its options to net/tls.connect, whose sockets take
 * highWaterMark (@types/node's AgentOptions does not list it, hence a spread, not a literal).
 */
export const RELAY_SOCKET_OPTIONS: { highWaterMark: number } = { highWaterMark: RELAY_HIGH_WATER_MARK };

export type UpstreamErrorMapper = (err: NodeJS.ErrnoException) => { status: number; code: string; message: string };

/**
 * Streams `req` into `upstream` and the upstream response back into `res`, with backpressure
 * both ways (pipe pauses the source when the sink is full) and nothing buffered. Either side
 * going away tears down the other. `done` fires exactly once.
 */
export function relay(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: ClientRequest,
  mapError: UpstreamErrorMapper,
  done: (outcome: RelayOutcome) => void,
): void {
  let bytes = 0;
  let finished = false;
  const complete = (status: number, error?: string) => {
    if (finished) return;
    finished = true;
    done({ status, bytes, error });
  };
  const count = (chunk: Buffer) => {
    bytes += chunk.length;
  };

  upstream.on('response', (ures) => {
    res.writeHead(ures.statusCode ?? 502, forwardableResponseHeaders(ures.headers));
    ures.on('data', count);
    ures.pipe(res);
    ures.on('error', (err) => res.destroy(err));
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    req.unpipe(upstream);
    if (!res.headersSent) {
      const e = mapError(err);
      // The caller may still be sending a body we will never read: sendError closes rather than drains it.
      sendError(req, res, new HttpError(e.status, e.code, e.message, { expose: true }));
      complete(e.status, err.message);
    } else {
      res.destroy(err);
      complete(res.statusCode, err.message);
    }
  });

  res.on('finish', () => complete(res.statusCode));
  res.on('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
      complete(res.statusCode, 'connection closed before the response finished');
    }
  });
  req.on('error', () => upstream.destroy());

  req.pipe(upstream);
  req.on('data', count);
}
