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
    ures.on('data', corkForTheTurn(res));
    ures.pipe(res);
    ures.on('data', count);
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

  // Registered before pipe's own listener, so the first piece of a turn is already corked.
  req.on('data', corkForTheTurn(upstream));
  req.pipe(upstream);
  req.on('data', count);
}

/**
 * Half the largest plaintext a TLS record carries (16 KiB, RFC 8446 5.1; a TLS socket's reads are
 * at most one record): a body's framing may split a record in two, and the larger part is at least this.
 */
const HALF_A_RECORD = 8 * 1024;

/**
 * A TLS socket hands its plaintext to JavaScript one record (at most 16 KiB) at a time, and each
 * record written on at once is one system call on the next hop. Corking the sink at a turn's
 * first large piece (half a record or more) and uncorking it once the turn's I/O is done writes
 * every record that arrived together (one TCP read holds several) in one writev. A small piece (a
 * small request or answer) is not held back unless the turn already corked. Backpressure is
 * unchanged: write() still reports a full buffer while corked, and pipe pauses on it.
 */
function corkForTheTurn(sink: ClientRequest | ServerResponse): (piece: Buffer) => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    sink.uncork();
  };
  return (piece) => {
    if (corked || piece.length < HALF_A_RECORD) return;
    corked = true;
    sink.cork();
    setImmediate(uncork);
  };
}
