import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  host?: string;
  port?: number;
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
  endpoint: string;
  port: number;
  region: string;
  admin: KmsAdmin;
  stop(): Promise<void>;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'TrentService.';
const MAX_BODY_BYTES = 64 * 1024;

/** Starts a KMS-protocol server (AWS JSON 1.1, SigV4) over the sealed key store in dataDir. */
export async function startLocalKms(options: LocalKmsOptions): Promise<LocalKms> {
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
      const body = await readBody(req);
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
      res.setHeader('x-amzn-ErrorType', error.type);
      send(res, requestId, error.status, { __type: error.type, message: error.message });
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  log?.info({ endpoint: `http://${host}:${port}` }, 'local kms listening');

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    region: scope.region,
    admin: createAdmin(store, scope, directory),
    stop: () => (stopped ??= close(server)),
  };
}

/** Reads the whole (small) request body, refusing anything larger than any KMS request. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new KmsError('ValidationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new KmsError('ValidationException', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
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

function send(res: ServerResponse, requestId: string, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(json),
    'x-amzn-RequestId': requestId,
  });
  res.end(json);
}

/** Stops accepting, drops idle keep-alive sockets (SDK clients hold them open), waits for the rest. */
function close(server: Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
