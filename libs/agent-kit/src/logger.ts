import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger, type DestinationStream } from 'pino';
import { pinoHttp } from 'pino-http';

/** Fields that must never reach a log line (wrapped keys, credentials, tokens). */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-reelmesh-bootstrap-token"]',
  '*.wrappedKey',
  '*.plaintextKey',
  '*.secretAccessKey',
  '*.token',
];

export function createLogger(name: string, level = 'info', destination?: DestinationStream): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

/** pino-http that reuses an incoming x-request-id (so one id follows a chunk across hops) or mints one. */
export function httpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    autoLogging: { ignore: (req) => req.url === '/health' },
    serializers: {
      req: (req) => ({ id: req.id, method: req.method, url: req.url, peer: req.headers?.['x-reelmesh-peer'] }),
      res: (res) => ({ statusCode: res.statusCode }),
    },
  });
}

export type { Logger };
