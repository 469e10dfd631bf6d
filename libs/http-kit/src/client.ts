// A small HTTP client for service-to-service calls on a pod or the host: it speaks to http:// and
// unix: endpoints alike (fetch cannot reach a Unix socket), caps the answer, and times out.
import http, { type IncomingHttpHeaders } from 'node:http';
import { connectTarget } from './endpoint';

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** A JSON value (sent as application/json) or raw bytes. */
  json?: unknown;
  body?: Buffer;
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Largest answer kept, bytes (default 16 MiB); more is an error. */
  maxResponseBytes?: number;
  agent?: http.Agent;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON (undefined if it is not JSON). */
  json<T = unknown>(): T | undefined;
}

export function request(endpoint: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const target = connectTarget(endpoint);
  if ('tls' in target && target.tls) return Promise.reject(new TypeError(`request() speaks plain HTTP; ${endpoint} is TLS`));
  const payload = options.json !== undefined ? Buffer.from(JSON.stringify(options.json)) : options.body;
  const headers: Record<string, string | number> = { ...options.headers };
  if (payload) {
    headers['content-length'] = payload.length;
    if (options.json !== undefined) headers['content-type'] ??= 'application/json';
  }
  const limit = options.maxResponseBytes ?? 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...target, path: `${target.basePath}${path}`, method: options.method ?? (payload ? 'POST' : 'GET'), headers, agent: options.agent, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (part: Buffer) => {
          size += part.length;
          if (size > limit) return void req.destroy(new Error(`answer from ${endpoint}${path} is larger than ${limit} bytes`));
          parts.push(part);
        });
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(parts);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => parseJson(body) });
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${endpoint}${path} within ${options.timeoutMs ?? 30_000} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(payload);
  });
}

function parseJson<T>(body: Buffer): T | undefined {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** An answer that is not 2xx, with the service's `{"error":{"code","message"}}` read out. */
export class ResponseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResponseError';
  }
}

/** request() that wants a 2xx JSON answer; anything else throws ResponseError with the service's code. */
export async function requestJson<T>(endpoint: string, path: string, options: RequestOptions = {}): Promise<T> {
  const res = await request(endpoint, path, options);
  const body = res.json<T & { error?: { code?: unknown; message?: unknown } }>();
  if (res.status >= 200 && res.status < 300 && body !== undefined) return body;
  const code = typeof body?.error?.code === 'string' ? body.error.code : res.status >= 200 && res.status < 300 ? 'BAD_RESPONSE' : `HTTP_${res.status}`;
  const message = typeof body?.error?.message === 'string' ? body.error.message : `${endpoint}${path} answered ${res.status}${body === undefined ? ' (not JSON)' : ''}`;
  throw new ResponseError(res.status, code, message);
}
