// The policy sidecar: OPA's REST API shape over the TypeScript engine, so the proxy sidecar (or
// anything written for OPA) can ask it, and a real OPA with policies/ can replace it unchanged.
// Fails closed: no policy loaded, a bad request or an internal error never yields `true`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { BundleError, verifyBundle } from '@reelmesh/provenance';
import { compilePolicy, PolicyDataError, type CompiledPolicy } from './compile';
import { createDecisionLogger, summarizeInput, type DecisionSink } from './decision-log';
import { evaluate } from './evaluate';
import type { PolicyData } from './types';

/** Inputs are a few KiB; anything near this is not an Envoy check request. */
export const MAX_INPUT_BYTES = 1024 * 1024;
/** A data document with +10,000 bench rules is ~2 MiB. */
export const MAX_DATA_BYTES = 32 * 1024 * 1024;

/** The documents this sidecar can answer, as OPA would name them under /v1/data/. */
export const DECISION_PATHS = ['reelmesh/authz/allow', 'reelmesh/authz/decision', 'reelmesh/authz/reason', 'reelmesh/authz'] as const;

export interface PolicySidecarOptions {
  port?: number;
  host?: string;
  /** The data document (data.reelmesh). Without one, /health says 503 and every decision is deny. */
  data?: PolicyData;
  /** Decision log sink (JSON lines). */
  decisionLog?: Writable;
  /** The owner's audit ledger: every decision is shipped there; while it cannot take more, fail closed. */
  auditSink?: DecisionSink;
  /**
   * Bearer token the control plane must present to PUT /v1/data. Without it, pushing data over
   * HTTP is disabled: anything on the pod's loopback could otherwise rewrite the policy.
   */
  updateToken?: string;
  /**
   * Signed-policy mode: only OPA bundles signed by this key are loaded (PUT /v1/bundle, or
   * `bundle` at start); plain PUT /v1/data is refused. A refused bundle leaves the last good
   * policy in force, or none (deny everything).
   */
  bundleKey?: { publicKeyPem: string; keyId?: string };
  /** Signed bundle (tar.gz) to load at start; needs `bundleKey`. */
  bundle?: Buffer;
}

export interface PolicySidecar {
  readonly url: string;
  readonly port: number;
  /** Validates, then atomically swaps in a new data document; throws PolicyDataError and keeps the old one. */
  setData(doc: PolicyData): void;
  /** Verify and load a signed bundle (signed-policy mode); throws BundleError and keeps the old policy. */
  loadBundle(archive: Buffer): { revision: string };
  /** Revision of the loaded signed bundle, if any. */
  readonly revision: string | undefined;
  /** Why the start-up bundle was refused (the sidecar then denies everything). */
  readonly startupBundleError?: string;
  stop(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startPolicySidecar(options: PolicySidecarOptions = {}): Promise<PolicySidecar> {
  const { port = 0, host = '127.0.0.1', decisionLog, updateToken, bundleKey } = options;
  if (bundleKey && options.data !== undefined) throw new Error('signed-policy mode takes a signed bundle, not unsigned data');
  if (options.bundle && !bundleKey) throw new Error('a bundle needs bundleKey to verify it');
  let policy: CompiledPolicy | undefined = options.data === undefined ? undefined : compilePolicy(options.data);
  let revision: string | undefined;
  const log = createDecisionLogger(decisionLog, options.auditSink);
  const tokenDigest = updateToken === undefined ? undefined : sha256(updateToken);

  const setData = (doc: PolicyData) => {
    policy = compilePolicy(doc);
  };

  // Everything is checked before the swap: a bad bundle never replaces the last good policy.
  const loadBundle = (archive: Buffer) => {
    if (!bundleKey) throw new BundleError('BUNDLE_UNSIGNED', 'this sidecar is not in signed-policy mode');
    const verified = verifyBundle(archive, bundleKey.publicKeyPem, { keyId: bundleKey.keyId, minRevision: revision });
    if (revision !== undefined && verified.revision === revision) {
      throw new BundleError('BUNDLE_REVISION_REPLAYED', `bundle revision ${verified.revision} is already loaded; revisions must increase`);
    }
    const compiled = compilePolicy(verified.data.reelmesh as PolicyData);
    policy = compiled;
    revision = verified.revision;
    return { revision };
  };
  let startupBundleError: string | undefined;
  if (options.bundle) {
    try {
      loadBundle(options.bundle);
    } catch (error) {
      // Fail closed: no policy, every decision is deny, /health says 503.
      startupBundleError = (error as Error).message;
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const failure = error instanceof HttpError ? error : new HttpError(500, 'internal_error', 'policy evaluation failed');
      sendError(res, failure);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sidecar');
    if (url.pathname === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'use GET /health');
      if (!policy) throw new HttpError(503, 'policy_not_loaded', 'no policy data loaded');
      return sendJson(res, 200, {});
    }
    if (url.pathname === '/v1/data' || url.pathname.startsWith('/v1/data/')) {
      const documentPath = url.pathname.slice('/v1/data'.length).replace(/^\//, '');
      if (req.method === 'PUT') {
        if (bundleKey) throw new HttpError(403, 'forbidden', 'unsigned policy data is refused: PUT a signed bundle to /v1/bundle');
        return putData(req, res, documentPath);
      }
      if (req.method === 'POST' || req.method === 'GET') return query(req, res, documentPath);
      throw new HttpError(405, 'method_not_allowed', `${req.method} is not supported on /v1/data`);
    }
    if (url.pathname === '/v1/bundle') {
      if (req.method !== 'PUT') throw new HttpError(405, 'method_not_allowed', 'use PUT /v1/bundle with a signed bundle (tar.gz)');
      return putBundle(req, res);
    }
    throw new HttpError(404, 'resource_not_found', `no such endpoint: ${url.pathname}`);
  }

  async function putBundle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    authorizeUpdate(req);
    const archive = await readBody(req, MAX_DATA_BYTES, 'bundle');
    try {
      sendJson(res, 200, loadBundle(archive));
    } catch (error) {
      if (error instanceof BundleError) throw new HttpError(error.code === 'BUNDLE_REVISION_REPLAYED' ? 409 : 400, error.code.toLowerCase(), error.message);
      if (error instanceof PolicyDataError) throw new HttpError(400, 'invalid_parameter', error.message);
      throw error;
    }
  }

  async function query(req: IncomingMessage, res: ServerResponse, documentPath: string): Promise<void> {
    const started = process.hrtime.bigint();
    const body = req.method === 'POST' ? await readJsonBody(req, MAX_INPUT_BYTES, 'input') : undefined;
    const input = body === undefined ? undefined : body.input;
    if (!(DECISION_PATHS as readonly string[]).includes(documentPath)) {
      // OPA answers an undefined document with no "result" at all: callers read that as deny.
      return sendJson(res, 200, {});
    }
    // No unaudited decisions: with the ledger unreachable long enough, answer 503 (proxies fail closed).
    if (options.auditSink && !options.auditSink.accepting()) {
      throw new HttpError(503, 'audit_unavailable', 'the decision log cannot reach the audit ledger; failing closed');
    }
    const current = policy;
    const decision = current ? evaluate(input, current) : { allowed: false, reason: 'policy_not_loaded' as const };
    const result = resultFor(documentPath, decision);
    const decisionId = log({
      path: documentPath,
      input: summarizeInput(input),
      result,
      reason: decision.reason,
      duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
    sendJson(res, 200, { decision_id: decisionId, result });
  }

  async function putData(req: IncomingMessage, res: ServerResponse, documentPath: string): Promise<void> {
    authorizeUpdate(req);
    const body = await readJsonBody(req, MAX_DATA_BYTES, 'data');
    // PUT /v1/data replaces the root ({"reelmesh": {...}}); PUT /v1/data/reelmesh replaces data.reelmesh.
    let doc: unknown;
    if (documentPath === '') doc = body?.reelmesh;
    else if (documentPath === 'reelmesh') doc = body;
    else throw new HttpError(404, 'resource_not_found', 'only data.reelmesh can be written');
    try {
      setData(doc as PolicyData);
    } catch (error) {
      if (error instanceof PolicyDataError) throw new HttpError(400, 'invalid_parameter', error.message);
      throw error;
    }
    res.writeHead(204).end();
  }

  function authorizeUpdate(req: IncomingMessage): void {
    if (!tokenDigest) throw new HttpError(403, 'forbidden', 'policy updates over HTTP are disabled on this sidecar');
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!timingSafeEqual(sha256(presented), tokenDigest)) throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    setData,
    loadBundle,
    get revision() {
      return revision;
    },
    startupBundleError,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function resultFor(documentPath: string, decision: { allowed: boolean; reason: string }): unknown {
  switch (documentPath) {
    case 'reelmesh/authz/allow':
      return decision.allowed;
    case 'reelmesh/authz/reason':
      return decision.reason;
    case 'reelmesh/authz/decision':
      return decision;
    default:
      return { allow: decision.allowed, decision, reason: decision.reason };
  }
}

/** Reads a JSON object body with a size cap; undefined for an empty body (OPA: no input). */
async function readJsonBody(req: IncomingMessage, limit: number, what: string): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(req, limit, what);
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'invalid_parameter', `body contains malformed ${what} document: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'invalid_parameter', `body must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Collects a body up to `limit` bytes. Past it: reject, and discard the rest (the reply closes the connection). */
function readBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.resume();
      chunks.length = 0;
      reject(new HttpError(413, 'invalid_parameter', `${what} document is larger than ${limit} bytes`));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * OPA's error body is {"code","message"}; ReelMesh services answer {"error":{"code","message"}}.
 * Both are sent so an OPA client and a ReelMesh client each find what they expect.
 */
function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A rejected (e.g. oversized) body may still be arriving: close rather than drain it.
  if (error.status === 413) res.setHeader('connection', 'close');
  sendJson(res, error.status, {
    code: error.code,
    message: error.message,
    error: { code: error.code.toUpperCase(), message: error.message },
  });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
