import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { handoffPath } from '@reelmesh/addressing';
import { connectTarget, HttpError } from '@reelmesh/http-kit';
import { backoffDelay, DEFAULT_RETRY, isRetryableNetworkError, isRetryableStatus, sleep, type RetryPolicy } from './backoff';
import { HandoffError } from './handoff-error';
import { validateManifest, type HandoffManifest } from './manifest';
import { multipartFrame, type MultipartFrame } from './multipart-body';

export interface SendChunkOptions {
  /** Receiver (or the pod's outbound proxy): `http://127.0.0.1:4001` or `unix:/pod/outbound.sock`. */
  baseUrl: string;
  /** Host header to send; the mesh's outbound proxy routes by it (= destination agent name). */
  hostHeader?: string;
  manifest: HandoffManifest;
  /** Opens the chunk bytes; called again for every attempt. Must yield exactly manifest.byteLength bytes. */
  open: () => Promise<Readable>;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Idle-socket timeout per attempt (no bytes either way for this long); retried like a network error. */
  timeoutMs?: number;
  /** Content type of the chunk part (default application/octet-stream). */
  chunkContentType?: string;
  logger?: Logger;
}

export interface SendChunkResult {
  status: 'stored' | 'duplicate';
  httpStatus: number;
  attempts: number;
}

interface Answer {
  httpStatus: number;
  body: { status?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
  retryAfterMs?: number;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Hand one chunk to the next agent. Streams the multipart body with an exact Content-Length
 * and real backpressure; retries 5xx, 429 and network failures with backoff; a 4xx is final.
 */
export async function sendChunk(options: SendChunkOptions): Promise<SendChunkResult> {
  const manifest = checkedManifest(options.manifest);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const target = handoffTarget(options.baseUrl, manifest);
  const frame = multipartFrame(manifest, options.chunkContentType);
  let lastProblem = 'no attempt made';
  let lastStatus: number | undefined;
  let lastCause: unknown;

  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    options.signal?.throwIfAborted();
    let answer: Answer;
    try {
      answer = await attemptOnce(target, frame, manifest, options, attempt);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof HandoffError) throw error;
      if (!isRetryableNetworkError(error)) {
        throw new HandoffError(`handoff to ${target.where} failed: ${(error as Error).message}`, 'NETWORK_ERROR', undefined, attempt, { cause: error });
      }
      lastProblem = `${(error as { code?: string }).code ?? 'network error'}: ${(error as Error).message}`;
      lastStatus = undefined;
      lastCause = error;
      await pause(policy, attempt, undefined, options, lastProblem);
      continue;
    }

    const { httpStatus, body } = answer;
    if (httpStatus === 200 || httpStatus === 201) {
      if (body?.status !== 'stored' && body?.status !== 'duplicate') {
        throw new HandoffError(`receiver answered ${httpStatus} without a handoff status`, 'BAD_RESPONSE', httpStatus, attempt);
      }
      return { status: body.status, httpStatus, attempts: attempt };
    }
    const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${httpStatus}`;
    const message = typeof body?.error?.message === 'string' ? body.error.message : `receiver answered ${httpStatus}`;
    if (!isRetryableStatus(httpStatus)) throw new HandoffError(`${code}: ${message}`, code, httpStatus, attempt);
    lastProblem = `${httpStatus} ${code}: ${message}`;
    lastStatus = httpStatus;
    lastCause = undefined;
    await pause(policy, attempt, answer.retryAfterMs, options, lastProblem);
  }
  throw new HandoffError(
    `handoff of ${target.path} gave up after ${policy.attempts} attempts; last: ${lastProblem}`,
    'RETRIES_EXHAUSTED',
    lastStatus,
    policy.attempts,
    { cause: lastCause },
  );
}

function checkedManifest(manifest: HandoffManifest): HandoffManifest {
  try {
    return validateManifest(manifest);
  } catch (error) {
    if (error instanceof HttpError) throw new HandoffError(error.message, error.code, undefined, 0);
    throw error;
  }
}

interface Target {
  /** node:http options that reach the receiver (host/port or socketPath) and the request path. */
  options: http.RequestOptions;
  path: string;
  tls: boolean;
  /** For messages: the receiver's address. */
  where: string;
}

/** The one handoff address (@reelmesh/addressing) on the receiver's endpoint. */
function handoffTarget(baseUrl: string, manifest: HandoffManifest): Target {
  const endpoint = connectTarget(baseUrl);
  const path = `${endpoint.basePath}${handoffPath(manifest)}`;
  if ('socketPath' in endpoint) return { options: { socketPath: endpoint.socketPath, path }, path, tls: false, where: baseUrl };
  return { options: { host: endpoint.host, port: endpoint.port, path }, path, tls: endpoint.tls, where: `${endpoint.host}:${endpoint.port}` };
}

async function pause(policy: RetryPolicy, attempt: number, retryAfterMs: number | undefined, options: SendChunkOptions, problem: string) {
  if (attempt >= policy.attempts) return;
  const delay = Math.max(backoffDelay(policy, attempt), Math.min(retryAfterMs ?? 0, policy.maxDelayMs));
  options.logger?.warn({ attempt, delayMs: delay, problem }, 'handoff attempt failed; retrying');
  await sleep(delay, options.signal);
}

/** One POST: resolves with the receiver's answer, rejects on network failure. */
async function attemptOnce(target: Target, frame: MultipartFrame, manifest: HandoffManifest, options: SendChunkOptions, attempt: number): Promise<Answer> {
  const source = await options.open();
  return new Promise<Answer>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      // An early answer (the receiver refused before reading everything): stop sending.
      if (!req.writableFinished) {
        req.destroy();
        source.destroy();
      }
      finish();
    };

    const headers: Record<string, string | number> = {
      ...options.headers,
      'content-type': frame.contentType,
      'content-length': frame.contentLength,
      accept: 'application/json',
    };
    if (options.hostHeader) headers.host = options.hostHeader;
    const transport = target.tls ? https : http;
    let req: http.ClientRequest;
    try {
      req = transport.request({ ...target.options, method: 'POST', headers, signal: options.signal });
    } catch (error) {
      source.destroy();
      throw error;
    }
    if (options.timeoutMs) {
      req.setTimeout(options.timeoutMs, () => {
        req.destroy(Object.assign(new Error(`no progress for ${options.timeoutMs} ms`), { code: 'HANDOFF_TIMEOUT' }));
      });
    }
    req.on('error', (error) => settle(() => reject(error)));
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (part: Buffer) => {
        size += part.length;
        if (size <= MAX_ANSWER_BYTES) parts.push(part);
      });
      res.on('error', (error) => settle(() => reject(error)));
      res.on('end', () => {
        settle(() =>
          resolve({
            httpStatus: res.statusCode ?? 0,
            body: parseJson(Buffer.concat(parts).toString('utf8')),
            retryAfterMs: retryAfter(res.headers['retry-after']),
          }),
        );
      });
    });

    pipeline(body(frame, source, manifest.byteLength, attempt), req).catch((error: unknown) => settle(() => reject(error)));
  });
}

/** head, the chunk bytes (checked against the declared length), tail. */
async function* body(frame: MultipartFrame, source: Readable, byteLength: number, attempt: number): AsyncGenerator<Buffer> {
  yield frame.head;
  let sent = 0;
  for await (const part of source) {
    const buffer = Buffer.isBuffer(part) ? part : Buffer.from(part as string);
    sent += buffer.length;
    if (sent > byteLength) throw lengthError(`more than the ${byteLength} bytes`, attempt);
    yield buffer;
  }
  if (sent !== byteLength) throw lengthError(`${sent} bytes instead of the ${byteLength}`, attempt);
  yield frame.tail;
}

const lengthError = (what: string, attempt: number) =>
  new HandoffError(`the chunk source yielded ${what} declared in manifest.byteLength`, 'SOURCE_LENGTH_MISMATCH', undefined, attempt);

function parseJson(text: string): Answer['body'] {
  try {
    return JSON.parse(text) as Answer['body'];
  } catch {
    return undefined;
  }
}

function retryAfter(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
