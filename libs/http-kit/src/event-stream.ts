// Server-Sent Events (text/event-stream, WHATWG HTML §9.2), both ends: the one writer every
// ReelMesh stream uses (the ledger's, the dashboard's) and the one reader (the CLI, tests).
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { connectOptions, connectTarget } from './endpoint';

export interface EventStream {
  /** Send one message (JSON of `data`, under `event` if given). Dropped once the stream ended. */
  send(data: unknown, event?: string): void;
  end(): void;
}

export interface EventStreamOptions {
  /** A reader this far behind (bytes buffered) is disconnected; it reconnects and starts over. */
  maxBufferedBytes: number;
  /** A comment line this often keeps the stream through idle proxies and browsers (default 15 s). */
  heartbeatMs?: number;
  /** Reconnection delay the reader should use (the `retry:` field), ms. */
  retryMs?: number;
  /** Called once when the stream ends, whoever ended it. */
  onClose?: () => void;
}

/** Answer `res` with an event stream; the caller sends messages until it or the reader ends it. */
export function openEventStream(req: IncomingMessage, res: ServerResponse, opts: EventStreamOptions): EventStream {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  if (opts.retryMs !== undefined) res.write(`retry: ${opts.retryMs}\n\n`);
  const heartbeat = setInterval(() => void (res.writableEnded || res.write(': ping\n\n')), opts.heartbeatMs ?? 15_000);
  heartbeat.unref();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    opts.onClose?.();
  };
  req.on('close', close);
  res.on('close', close);
  return {
    send(data, event) {
      if (closed || res.writableEnded) return;
      // Too far behind: drop the connection rather than buffer without bound (an end() could not
      // even be flushed to a reader that stopped reading).
      if (res.writableLength > opts.maxBufferedBytes) {
        res.destroy();
        return close();
      }
      res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      res.end();
      close();
    },
  };
}

export interface EventStreamMessage {
  /** `message` when the stream named none. */
  event: string;
  data: string;
}

/** Read an event stream: `listener` gets each message with data (comments and `retry:` skipped). */
export function readEventStream(stream: Readable, listener: (message: EventStreamMessage) => void): void {
  stream.setEncoding('utf8');
  let buffer = '';
  stream.on('data', (text: string) => {
    buffer += text.replace(/\r\n?/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) listener({ event, data: data.join('\n') });
    }
  });
}

export interface FollowOptions {
  headers?: Record<string, string>;
  /** Wait this long before connecting again after the stream ended or could not be opened (default 250 ms). */
  retryMs?: number;
  /** Each message, parsed from JSON (a message that is not JSON is skipped). */
  onMessage: (event: string, data: unknown) => void;
}

export interface Following {
  /** Stop following: the stream is closed and never opened again. */
  close(): void;
}

/**
 * Follow a service's event stream (plain HTTP or a Unix socket endpoint) for as long as the caller
 * wants it: a stream that ends, drops or cannot be opened (the service restarting) is opened again
 * after `retryMs`. A stream the service answers with anything but 200 is tried again the same way.
 */
export function followEventStream(endpoint: string, path: string, opts: FollowOptions): Following {
  const target = connectTarget(endpoint);
  if ('tls' in target && target.tls) throw new TypeError(`followEventStream() speaks plain HTTP; ${endpoint} is TLS`);
  const connect = connectOptions(endpoint);
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let current: ReturnType<typeof request> | undefined;
  const again = () => {
    current = undefined;
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      open();
    }, opts.retryMs ?? 250);
  };
  const open = () => {
    if (closed) return;
    const req = request({ ...connect, method: 'GET', path: `${target.basePath}${path}`, headers: { ...opts.headers, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return again();
      }
      readEventStream(res, (m) => {
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        if (!closed) opts.onMessage(m.event, data);
      });
      res.on('close', again);
      res.on('error', () => undefined);
    });
    current = req;
    req.on('error', again);
    req.end();
  };
  open();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      current?.destroy();
    },
  };
}
