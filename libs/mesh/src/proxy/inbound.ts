import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Svid } from '../ca/ca';
import { normalizeRequestPath, POLICY_STATUS } from '@reelmesh/addressing';
import { connectOptions } from '@reelmesh/http-kit';
import { requestRecord, type AccessLogger } from './access-log';
import { PEER_HEADER, trustedRequestHeaders } from './headers';
import { buildOpaInput } from './opa-input';
import { POD_TOKEN_HEADER } from './pod-token';
import type { PolicyClient, PolicyDecision } from './policy-client';
import { relay, RELAY_SOCKET_OPTIONS } from './relay';
import { peerOf, peerRefusalOf, pinPeerIdentity } from './tls-peer';

export interface InboundOptions {
  spiffeId: string;
  trustDomain: string;
  svid: Svid;
  trustBundle: string;
  /** null only when the operator explicitly skipped policy (benchmarks). */
  policy: PolicyClient | null;
  /** The app: http://127.0.0.1:<port> on the pod's loopback, or unix:<path> in the pod's folder. */
  appUrl: string;
  /** The pod's own secret, added to every request forwarded to the app (which takes no request without it). */
  podToken?: string;
  log: AccessLogger;
}

const ALLOW_WITHOUT_POLICY: PolicyDecision = { allowed: true, reason: 'policy skipped', unavailable: false };

export function tlsServerContext(svid: Svid, trustBundle: string) {
  return { key: svid.keyPem, cert: svid.chainPem, ca: trustBundle, minVersion: 'TLSv1.3' as const };
}

/**
 * The inbound mTLS listener: verify the peer's SVID, ask the policy, forward to the app on
 * loopback with the verified identity in x-reelmesh-peer (and the pod's token), or answer 403.
 */
export function createInboundServer(opts: InboundOptions): https.Server {
  // The app on the pod's loopback or a Unix socket in the pod's folder.
  const app = connectOptions(opts.appUrl);
  const appAgent = new http.Agent({ keepAlive: true, scheduling: 'lifo', ...RELAY_SOCKET_OPTIONS });
  const { log, policy, spiffeId } = opts;

  const server = https.createServer(
    {
      ...tlsServerContext(opts.svid, opts.trustBundle),
      requestCert: true,
      rejectUnauthorized: true,
      // Chunks are large and slow to process downstream; only idle headers are timed out.
      requestTimeout: 0,
      headersTimeout: 30_000,
      keepAliveTimeout: 30_000,
    },
    (req, res) => void handle(req, res),
  );
  server.prependListener('secureConnection', (socket: TLSSocket) => {
    if (pinPeerIdentity(socket, opts.trustDomain, opts.trustBundle)) return;
    // One access-log line per refused connection, naming the certificate rule it broke.
    const refusal = peerRefusalOf(socket);
    log({
      time: new Date().toISOString(), direction: 'inbound', source: '', destination: spiffeId, method: '', path: '',
      decision: 'peer_refused', status: 0, bytes: 0, durationMs: 0,
      reason: `client certificate refused: ${refusal?.message ?? 'not a verified mesh certificate'}`,
    });
    socket.destroy();
  });
  server.on('close', () => appAgent.destroy());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peer = peerOf(req.socket);
    const { method, path: rawUrl, entry, refuse } = requestRecord(log, req, res, { direction: 'inbound', source: peer?.spiffeId ?? '', destination: spiffeId, peerSerial: peer?.serial });

    if (!peer) {
      // Unreachable in practice: such sockets are destroyed right after the handshake.
      refuse(403, 'UNAUTHENTICATED', 'no verified SPIFFE identity');
      return entry('deny', 403, 0, 'no peer identity');
    }
    if (rawUrl[0] !== '/') {
      refuse(400, 'BAD_REQUEST', 'request target must be origin-form');
      return entry('bad_request', 400, 0);
    }
    // The path semantics of every target (Istio DECODE_AND_MERGE_SLASHES): the policy judges the
    // normalised path and the app gets that same path; what cannot be normalised reaches neither.
    const normalised = normalizeRequestPath(rawUrl);
    if (!normalised.ok) {
      refuse(400, normalised.code, normalised.reason);
      return entry('bad_request', 400, 0, normalised.reason);
    }
    const url = normalised.target;

    const headers = trustedRequestHeaders(req.headers);
    const decision = policy
      ? await policy.check(
          buildOpaInput({ source: peer.spiffeId, destination: spiffeId, method, url, httpVersion: req.httpVersion, headers }),
        )
      : ALLOW_WITHOUT_POLICY;
    if (res.destroyed) return entry(decision.allowed ? 'allow' : 'deny', 499, 0, 'caller went away');

    if (!decision.allowed) {
      // Fail closed either way. A denial is final; an unreachable or slow policy is transient, so
      // a sender retries later instead of losing the chunk.
      const status = decision.unavailable ? POLICY_STATUS.unavailable : POLICY_STATUS.denied;
      const code = decision.unavailable ? 'POLICY_UNAVAILABLE' : 'POLICY_DENIED';
      refuse(status, code, decision.reason);
      return entry(decision.unavailable ? 'policy_unavailable' : 'deny', status, 0, decision.reason);
    }

    // After the policy decision: the policy (and its decision log) never sees the pod's token.
    (headers as Record<string, string>)[PEER_HEADER] = peer.spiffeId;
    if (opts.podToken !== undefined) headers[POD_TOKEN_HEADER] = opts.podToken;
    const upstream = http.request({ ...app, method, path: url, headers, agent: appAgent });
    relay(
      req,
      res,
      upstream,
      (err) => ({ status: 502, code: 'APP_UNAVAILABLE', message: `app unreachable: ${err.code ?? err.message}` }),
      (o) => entry('allow', o.status, o.bytes, o.error),
    );
  }

  return server;
}

export function updateInboundSvid(server: https.Server, svid: Svid, trustBundle: string): void {
  // New handshakes use the new SVID; established connections keep theirs.
  server.setSecureContext(tlsServerContext(svid, trustBundle));
}
