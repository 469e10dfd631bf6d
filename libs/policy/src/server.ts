// The policy sidecar: OPA's REST API shape over the TypeScript engine, so the proxy sidecar (or
// anything written for OPA) can ask it, and a real OPA with policies/ can replace it unchanged.
// Fails closed: no policy loaded, a bad request or an internal error never yields `true`.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { closeServer, errorBody, HttpError, listen, parseListenAddress, readBody, type ListenAddress, readJsonBody, sendError, sendJson } from '@reelmesh/http-kit';
import { BundleError, verifyBundle } from '@reelmesh/provenance';
import { createCheckServer, type CheckAnswer } from './check-protocol';
import { compilePolicy, PolicyDataError, type CompiledPolicy } from './compile';
import { createDecisionLogger, summarizeInput, type DecisionSink } from './decision-log';
import { evaluate } from './evaluate';
import type { PolicyData } from './types';

/** What a sidecar that holds no policy yet answers (deny, closed; proxies answer it 503: retry later). */
export const POLICY_NOT_LOADED = 'policy_not_loaded' as const;

/** Inputs are a few KiB; anything near this is not an Envoy check request. */
export const MAX_INPUT_BYTES = 1024 * 1024;
/** A data document with +10,000 bench rules is ~2 MiB. */
export const MAX_DATA_BYTES = 32 * 1024 * 1024;

/**
 * How long stop() lets requests in flight finish. A decision takes well under a millisecond, so
 * this is only for a client that holds a request open: it cannot delay the stop any longer.
 */
const STOP_GRACE_MS = 1000;

/** How long an idle client connection (the pod's proxy) stays open. */
const KEEP_ALIVE_MS = 60_000;

/** The documents this sidecar can answer, as OPA would name them under /v1/data/. */
export const DECISION_PATHS = ['reelmesh/authz/allow', 'reelmesh/authz/decision', 'reelmesh/authz/reason', 'reelmesh/authz'] as const;

export interface PolicySidecarOptions {
  /** Where to listen: "127.0.0.1:0" (the default: any free port), "[::1]:8181", or "unix:/abs/path.sock". */
  listen?: string;
  /**
   * Where to answer the check socket too (check-protocol.ts: the pod's proxy asks here), in the
   * same notation; on TCP only a loopback address. Decisions there are the REST API's, logged alike.
   */
  checkListen?: string;
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
  /** The endpoint it got: "http://127.0.0.1:41234" or "unix:/abs/path.sock". */
  readonly url: string;
  /** The check socket it got, with `checkListen`: "127.0.0.1:41235" or "unix:/abs/path.sock". */
  readonly checkAddress?: string;
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

export async function startPolicySidecar(options: PolicySidecarOptions = {}): Promise<PolicySidecar> {
  const { listen: address = '127.0.0.1:0', decisionLog, updateToken, bundleKey } = options;
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
      // Anything unexpected is OPA's internal_error, with a fixed message: internals never leak.
      const failure = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL_ERROR', 'policy evaluation failed', { expose: true, cause: error });
      sendError(req, res, failure, opaErrorFields);
    });
  });
  // A pod's proxy keeps its connection to the sidecar between chunks, which are often seconds
  // apart: with node's 5 s idle limit it reconnected after most pauses (the proxy's agent reads
  // the limit from the Keep-Alive header and retires the socket before it).
  server.keepAliveTimeout = KEEP_ALIVE_MS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sidecar');
    if (url.pathname === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use GET /health');
      if (!policy) throw new HttpError(503, 'POLICY_NOT_LOADED', 'no policy data loaded', { expose: true });
      return sendJson(res, 200, {});
    }
    if (url.pathname === '/v1/data' || url.pathname.startsWith('/v1/data/')) {
      const documentPath = url.pathname.slice('/v1/data'.length).replace(/^\//, '');
      if (req.method === 'PUT') {
        if (bundleKey) throw new HttpError(403, 'FORBIDDEN', 'unsigned policy data is refused: PUT a signed bundle to /v1/bundle');
        return putData(req, res, documentPath);
      }
      if (req.method === 'POST' || req.method === 'GET') return query(req, res, documentPath);
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not supported on /v1/data`);
    }
    if (url.pathname === '/v1/bundle') {
      if (req.method !== 'PUT') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'use PUT /v1/bundle with a signed bundle (tar.gz)');
      return putBundle(req, res);
    }
    throw new HttpError(404, 'RESOURCE_NOT_FOUND', `no such endpoint: ${url.pathname}`);
  }

  async function putBundle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    authorizeUpdate(req);
    const archive = await readBody(req, { limit: MAX_DATA_BYTES, what: 'bundle' }).catch(asOpaBodyError('bundle'));
    try {
      sendJson(res, 200, loadBundle(archive));
    } catch (error) {
      if (error instanceof BundleError) throw new HttpError(error.code === 'BUNDLE_REVISION_REPLAYED' ? 409 : 400, error.code, error.message, { cause: error });
      if (error instanceof PolicyDataError) throw new HttpError(400, 'INVALID_PARAMETER', error.message, { cause: error });
      throw error;
    }
  }

  async function query(req: IncomingMessage, res: ServerResponse, documentPath: string): Promise<void> {
    const started = process.hrtime.bigint();
    const body = req.method === 'POST' ? await readOpaJson(req, MAX_INPUT_BYTES, 'input') : undefined;
    const input = body === undefined ? undefined : body.input;
    if (!(DECISION_PATHS as readonly string[]).includes(documentPath)) {
      // OPA answers an undefined document with no "result" at all: callers read that as deny.
      return sendJson(res, 200, {});
    }
    const { decisionId, result } = decide(documentPath as DecisionPath, input, started);
    sendJson(res, 200, { decision_id: decisionId, result });
  }

  /** One decision, logged: what the REST API and the check socket both answer. */
  function decide(documentPath: DecisionPath, input: unknown, started: bigint): { decisionId: string; result: unknown } {
    // No unaudited decisions: with the ledger unreachable long enough, refuse (proxies fail closed).
    if (options.auditSink && !options.auditSink.accepting()) {
      throw new HttpError(503, 'AUDIT_UNAVAILABLE', 'the decision log cannot reach the audit ledger; failing closed', { expose: true });
    }
    const current = policy;
    const decision = current ? evaluate(input, current) : { allowed: false, reason: POLICY_NOT_LOADED };
    const result = resultFor(documentPath, decision);
    const decisionId = log({
      path: documentPath,
      input: summarizeInput(input),
      result,
      reason: decision.reason,
      duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
    return { decisionId, result };
  }

  async function putData(req: IncomingMessage, res: ServerResponse, documentPath: string): Promise<void> {
    authorizeUpdate(req);
    const body = await readOpaJson(req, MAX_DATA_BYTES, 'data');
    // PUT /v1/data replaces the root ({"reelmesh": {...}}); PUT /v1/data/reelmesh replaces data.reelmesh.
    let doc: unknown;
    if (documentPath === '') doc = body?.reelmesh;
    else if (documentPath === 'reelmesh') doc = body;
    else throw new HttpError(404, 'RESOURCE_NOT_FOUND', 'only data.reelmesh can be written');
    try {
      setData(doc as PolicyData);
    } catch (error) {
      if (error instanceof PolicyDataError) throw new HttpError(400, 'INVALID_PARAMETER', error.message, { cause: error });
      throw error;
    }
    res.writeHead(204).end();
  }

  function authorizeUpdate(req: IncomingMessage): void {
    if (!tokenDigest) throw new HttpError(403, 'FORBIDDEN', 'policy updates over HTTP are disabled on this sidecar');
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!timingSafeEqual(sha256(presented), tokenDigest)) throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong bearer token');
  }

  const endpoint = await listen(server, address);
  const check = options.checkListen === undefined ? undefined : await listenForChecks(options.checkListen, (input) => {
    const { decisionId, result } = decide(CHECK_DECISION_PATH, input, process.hrtime.bigint());
    return { decision_id: decisionId, result: result as CheckAnswer['result'] };
  }).catch(async (error: unknown) => {
    await closeServer(server, 0);
    throw error;
  });

  return {
    url: endpoint,
    checkAddress: check?.address,
    setData,
    loadBundle,
    get revision() {
      return revision;
    },
    startupBundleError,
    async stop() {
      await Promise.all([closeServer(server, STOP_GRACE_MS), check?.close()]);
      // The decisions of the last turn reach the stream before the caller ends it.
      log.flush();
    },
  };
}

type DecisionPath = (typeof DECISION_PATHS)[number];

/** The document the check socket answers: OPA's reelmesh/authz/decision. */
const CHECK_DECISION_PATH: DecisionPath = 'reelmesh/authz/decision';

/**
 * Binds the check socket. On TCP only loopback: the socket is the pod's own proxy's, and nothing
 * outside the pod may fill the decision log.
 */
async function listenForChecks(address: string, decide: (input: unknown) => CheckAnswer): Promise<{ address: string; close(): Promise<void> }> {
  const at = parseCheckListenAddress(address);
  const checks = createCheckServer(decide);
  const bound = await listen(checks.server, at);
  const info = checks.server.address();
  const port = typeof info === 'object' && info ? info.port : 0;
  return { address: 'path' in at ? bound : `${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}`, close: checks.close };
}

/** A check socket's address: a Unix socket or a loopback host:port (throws TypeError otherwise). */
export function parseCheckListenAddress(address: string): ListenAddress {
  const at = parseListenAddress(address);
  const loopback = 'path' in at || at.host === 'localhost' || at.host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(at.host);
  if (!loopback) throw new TypeError(`the check socket listens on a Unix socket or loopback only, got ${JSON.stringify(address)}`);
  return at;
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

/**
 * OPA's error body is {"code","message"} with lower-case codes; ReelMesh services answer
 * {"error":{"code","message"}}. Both are sent, from one HttpError whose UPPER_SNAKE code is OPA's
 * upper-cased, so an OPA client and a ReelMesh client each find what they expect.
 */
function opaErrorFields(error: HttpError): Record<string, unknown> {
  return { code: error.code.toLowerCase(), message: errorBody(error).error.message };
}

/** A capped JSON object body (undefined when empty), its faults reported as OPA does. */
function readOpaJson(req: IncomingMessage, limit: number, what: string): Promise<Record<string, unknown> | undefined> {
  return readJsonBody(req, { limit, what }).catch(asOpaBodyError(what));
}

/**
 * OPA calls every unusable body invalid_parameter ("body contains malformed input document: ...");
 * the status stays what http-kit chose (400, or 413 for a body past the cap).
 */
function asOpaBodyError(what: string) {
  return (error: unknown): never => {
    if (error instanceof HttpError && error.code === 'BAD_JSON') {
      throw new HttpError(400, 'INVALID_PARAMETER', `body contains malformed ${what} document: ${error.message}`, { cause: error });
    }
    if (error instanceof HttpError && error.code === 'BODY_TOO_LARGE') throw new HttpError(413, 'INVALID_PARAMETER', error.message, { cause: error });
    throw error;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
