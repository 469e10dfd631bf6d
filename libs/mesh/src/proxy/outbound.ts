import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import tls, { type PeerCertificate } from 'node:tls';
import type { Svid } from '../ca/ca';
import type { Registry } from '../control-plane/registry';
import { normalizeRequestPath, parseSpiffeId } from '@reelmesh/addressing';
import { parseTrustBundle, SvidProfileError, type SvidRule } from '@reelmesh/workload-identity';
import { requestRecord, type AccessLogger } from './access-log';
import { forwardableHeaders } from './headers';
import { refusedOutsidePod } from './pod-token';
import { relay, RELAY_HIGH_WATER_MARK, RELAY_SOCKET_OPTIONS, type UpstreamErrorMapper } from './relay';
import { checkPeerSvid } from './tls-peer';

export interface OutboundOptions {
  spiffeId: string;
  svid: Svid;
  trustBundle: string;
  registry: Registry;
  log: AccessLogger;
  /** The pod's own secret: only a request carrying it (the pod's app) may leave through this listener. */
  podToken?: string;
}

export interface OutboundServer {
  server: http.Server;
  updateSvid(svid: Svid): void;
  close(): void;
}

export class SpiffeIdMismatchError extends Error {
  readonly code = 'ERR_SPIFFE_ID_MISMATCH';

  constructor(
    message: string,
    /** The X.509-SVID profile rule the server's certificate breaks, when that is why. */
    readonly rule?: SvidRule,
  ) {
    super(message);
  }
}

/**
 * The outbound listener (plain HTTP on the pod's loopback). The app names the destination agent
 * as Host; only registered agents are reachable (REGISTRY_ONLY). Each hop is TLS 1.3 with this
 * pod's SVID, and the server must present an X.509-SVID fit for a TLS server with exactly the
 * SPIFFE id the registry lists for it.
 */
export function createOutboundServer(opts: OutboundOptions): OutboundServer {
  const { registry, log, spiffeId } = opts;
  let context = clientContext(opts.svid, opts.trustBundle);
  const roots = parseTrustBundle(opts.trustBundle);
  const { trustDomain } = parseSpiffeId(spiffeId);

  /**
   * Once per connection, after OpenSSL verified the chain: the server's certificate must pass the
   * X.509-SVID profile for a TLS server (the rule it breaks goes to the access log) and carry
   * exactly the SPIFFE id the registry lists.
   */
  function serverIdentityError(cert: PeerCertificate, destination: string): SpiffeIdMismatchError | undefined {
    let presented: string;
    try {
      presented = checkPeerSvid(cert, 'tls-server', trustDomain, roots).spiffeId;
    } catch (error) {
      if (!(error instanceof SvidProfileError)) throw error;
      return new SpiffeIdMismatchError(`server certificate refused: ${error.message}`, error.rule);
    }
    return presented === destination ? undefined : new SpiffeIdMismatchError(`server presented ${presented}, expected ${destination}`);
  }
  // One keep-alive TLS pool per destination identity; replaced wholesale when the SVID rotates.
  let pools = new Map<string, https.Agent>();

  function poolFor(destination: string): https.Agent {
    let pool = pools.get(destination);
    if (!pool) {
      pool = new https.Agent({
        keepAlive: true,
        scheduling: 'lifo',
        ...RELAY_SOCKET_OPTIONS,
        secureContext: context,
        minVersion: 'TLSv1.3',
        rejectUnauthorized: true,
        // No session resumption: every new connection proves the current SVID, and a resumed
        // session must not outlive a rotated or expired certificate.
        maxCachedSessions: 0,
        checkServerIdentity: (_host: string, cert: PeerCertificate) => serverIdentityError(cert, destination),
      });
      pools.set(destination, pool);
    }
    return pool;
  }

  const server = http.createServer(
    { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 30_000, highWaterMark: RELAY_HIGH_WATER_MARK },
    (req, res) => void handle(req, res),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    const colon = host.lastIndexOf(':');
    const agent = colon === -1 ? host : host.slice(0, colon);
    const { method, path: rawUrl, entry, refuse } = requestRecord(log, req, res, { direction: 'outbound', source: spiffeId, destination: agent });
    if (refusedOutsidePod(req, res, opts.podToken, entry)) return;

    if (rawUrl[0] !== '/') {
      refuse(400, 'BAD_REQUEST', 'request target must be origin-form');
      return entry('bad_request', 400, 0);
    }
    // Normalised on the way out too, as a sidecar's outbound listener does under Istio's pathNormalization.
    const normalised = normalizeRequestPath(rawUrl);
    if (!normalised.ok) {
      refuse(400, normalised.code, normalised.reason);
      return entry('bad_request', 400, 0, normalised.reason);
    }
    const url = normalised.target;
    let target;
    try {
      target = await registry.resolve(agent);
    } catch (err) {
      refuse(503, 'REGISTRY_UNAVAILABLE', 'service registry unavailable');
      return entry('registry_unavailable', 503, 0, (err as Error).message);
    }
    if (!target) {
      const reason = `destination "${agent}" is not in the mesh registry`;
      refuse(502, 'UNKNOWN_DESTINATION', reason);
      return entry('unknown_destination', 502, 0, reason);
    }

    const upstream = https.request({
      host: target.host,
      port: target.port,
      method,
      path: url,
      headers: forwardableHeaders(req.headers),
      agent: poolFor(target.spiffeId),
    });
    relay(req, res, upstream, mapUpstreamError, (o) =>
      entry(o.error && o.status >= 500 ? 'upstream_error' : 'allow', o.status, o.bytes, o.error, target.spiffeId),
    );
  }

  return {
    server,
    updateSvid(svid) {
      context = clientContext(svid, opts.trustBundle);
      const retired = pools;
      pools = new Map();
      // In-flight requests finish on their connections; idle ones close so the next request
      // handshakes with the new SVID.
      for (const pool of retired.values()) retire(pool);
    },
    close() {
      for (const pool of pools.values()) pool.destroy();
      pools = new Map();
    },
  };
}

function clientContext(svid: Svid, trustBundle: string): tls.SecureContext {
  return tls.createSecureContext({ key: svid.keyPem, cert: svid.chainPem, ca: trustBundle, minVersion: 'TLSv1.3' });
}

function retire(pool: https.Agent): void {
  // Node's Agent reads this flag when a socket frees up: in-flight sockets then close, not pool.
  (pool as unknown as { keepAlive: boolean }).keepAlive = false;
  for (const sockets of Object.values(pool.freeSockets)) for (const s of sockets ?? []) s.destroy();
}

const mapUpstreamError: UpstreamErrorMapper = (err) => {
  if (err instanceof SpiffeIdMismatchError) {
    return { status: 502, code: 'UPSTREAM_IDENTITY_MISMATCH', message: err.message };
  }
  const code = err.code ?? '';
  // OpenSSL's chain verdicts (X509_V_ERR_*: PATH_LENGTH_EXCEEDED, INVALID_CA, INVALID_PURPOSE, ...)
  // are TLS failures too, not a destination that is away: never a retryable 503.
  if (/CERT|SSL|TLS|SIGNATURE|ISSUER|ALERT|INVALID_CA|PATH_LENGTH|PURPOSE/.test(code) || /alert|certificate/i.test(err.message)) {
    return { status: 502, code: 'UPSTREAM_TLS_FAILED', message: `mTLS to destination failed: ${err.message}` };
  }
  return { status: 503, code: 'UPSTREAM_UNAVAILABLE', message: `destination unreachable: ${code || err.message}` };
};
