import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, HttpError, listen, parseListenAddress, readBody, type ListenAddress } from '@reelmesh/http-kit';
import type { Logger } from 'pino';
import { KmsError, toKmsError } from './errors';
import { KeyStore } from './key-store';
import type { ArnScope } from './key-ref';
import { OPERATIONS } from './operations';
import { principalDirectory, type PrincipalCredential, type PrincipalMap } from './principals';
import { verifySigV4 } from './sigv4';
import { createAdmin, type KmsAdmin } from './admin';

export interface LocalKmsOptions {
  dataDir: string;
  /** `host:port` or { host, port }; default `127.0.0.1:0` (any free port, reported as `endpoint`). */
  listen?: string | { host: string; port: number };
  principals: PrincipalMap;
  logger?: Logger;
  /** Defaults to `<dataDir>/master.key`. */
  masterKeyFile?: string;
  /** Region in ARNs; when given, requests must also be signed for it. Default ARNs use us-east-1. */
  region?: string;
  accountId?: string;
  /** Principals (exact or `prefix*`) allowed to call CreateKey over the wire. Default: nobody. */
  keyCreators?: string[];
  /** Allowed difference between X-Amz-Date and the server clock. Default 5 minutes. */
  maxSkewMs?: number;
}

export interface LocalKms {
  /** What it really bound, e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  region: string;
  admin: KmsAdmin;
  stop(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'TrentService.';
/** Far above any KMS request (Encrypt takes at most 4 KiB of plaintext, base64-encoded). */
const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_LISTEN = '127.0.0.1:0';
/** Requests are milliseconds of work; a client still holding a busy connection after this is cut. */
const STOP_GRACE_MS = 5_000;

/** Starts a KMS-protocol server (AWS JSON 1.1, SigV4) over the sealed key store in dataDir. */
export async function startLocalKms(options: LocalKmsOptions): Promise<LocalKms> {
  const address = tcpAddress(options.listen ?? DEFAULT_LISTEN);
  const store = await KeyStore.open({ dataDir: options.dataDir, masterKeyFile: options.masterKeyFile });
  const scope: ArnScope = { region: options.region ?? 'us-east-1', accountId: options.accountId ?? '000000000000' };
  const directory = principalDirectory(options.principals);
  const keyCreators = options.keyCreators ?? [];
  const log = options.logger;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    let op = '-';
    let principal = '-';
    try {
      if (req.method === 'GET' && req.url === '/health') return send(res, requestId, 200, { status: 'ok' });
      if (req.method !== 'POST' || !(req.url ?? '').startsWith('/')) {
        throw new KmsError('UnknownOperationException', 'Requests are POST / with X-Amz-Target', 404);
      }
      const body = await readBody(req, { limit: MAX_BODY_BYTES, what: 'KMS request' }).catch(asKmsError);
      const verified = verifySigV4(
        { method: req.method, url: req.url ?? '/', rawHeaders: req.rawHeaders, body },
        {
          service: 'kms',
          region: options.region,
          secretFor: (id) => directory.get(id)?.secretAccessKey,
          requiredSignedHeaders: ['x-amz-target'],
          maxSkewMs: options.maxSkewMs,
        },
      );
      principal = (directory.get(verified.accessKeyId) as PrincipalCredential).principal;

      const target = String(req.headers['x-amz-target'] ?? '');
      op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
      const operation = target.startsWith(TARGET_PREFIX) ? OPERATIONS.get(op) : undefined;
      if (!operation) throw new KmsError('UnknownOperationException', `Unknown operation ${target || '(none)'}`);
      const input = parseJsonBody(req, body);
      const canCreateKeys = keyCreators.some((p) => p === principal || (p.endsWith('*') && principal.startsWith(p.slice(0, -1))));
      const output = await operation(input, { store, scope, caller: { principal }, canCreateKeys });
      log?.info({ requestId, op, principal, status: 200 }, 'kms request');
      send(res, requestId, 200, output);
    } catch (err) {
      const error = toKmsError(err);
      if (error.type === 'KMSInternalException') log?.error({ requestId, op, principal, err }, 'kms internal error');
      else log?.warn({ requestId, op, principal, error: error.type, reason: error.message }, 'kms request refused');
      // A body we stopped reading (too large) is not drained on a kept-alive connection: close it.
      const headers: Record<string, string> = { 'x-amzn-ErrorType': error.type };
      if (!req.complete) headers.connection = 'close';
      send(res, requestId, error.status, { __type: error.type, message: error.message }, headers);
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  const endpoint = await listen(server, address);
  log?.info({ endpoint }, 'local kms listening');

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    region: scope.region,
    admin: createAdmin(store, scope, directory),
    // SDK clients keep idle keep-alive sockets open: closeServer drops those at once.
    stop: () => (stopped ??= closeServer(server, STOP_GRACE_MS)),
  };
}

/** TCP only: AWS SDK clients take an http(s) endpoint and cannot reach a Unix socket. */
function tcpAddress(spec: string | ListenAddress): { host: string; port: number } {
  const address = parseListenAddress(spec);
  if ('path' in address) throw new TypeError(`the local KMS listens on TCP (AWS SDK clients cannot reach a Unix socket), got unix:${address.path}`);
  return address;
}

/** http-kit's 413 for an oversized body, in this wire protocol's error shape. */
function asKmsError(error: unknown): never {
  if (error instanceof HttpError && error.status === 413) throw new KmsError('ValidationException', error.message, 413);
  throw error;
}

function parseJsonBody(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (contentType !== JSON_CONTENT_TYPE) {
    throw new KmsError('SerializationException', `Content-Type must be ${JSON_CONTENT_TYPE}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
  } catch {
    throw new KmsError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KmsError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** AWS JSON 1.1 answers are not http-kit's `{"error":...}`: their own content type and headers. */
function send(res: ServerResponse, requestId: string, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(json),
    'x-amzn-RequestId': requestId,
    ...headers,
  });
  res.end(json);
}
