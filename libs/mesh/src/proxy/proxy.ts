import http from 'node:http';
import type { Writable } from 'node:stream';
import { parseSpiffeId } from '@reelmesh/addressing';
import { closeServer, HttpError, listen, sendError, sendJson } from '@reelmesh/http-kit';
import { ControlPlaneClient, SvidSource, whileUnreachable } from '@reelmesh/workload-identity';
import { ControlPlaneRegistry } from '../control-plane/cached-registry';
import type { Registry } from '../control-plane/registry';
import { createAccessLogger } from './access-log';
import { createInboundServer, updateInboundSvid } from './inbound';
import { createOutboundServer } from './outbound';
import { createCheckClient } from './check-client';
import { createPolicyClient } from './policy-client';

export interface ProxyOptions {
  agent: string;
  /** Expected identity; checked against the SVID. Optional with a control plane (it knows). */
  spiffeId?: string;
  /** Where the SVID comes from: a ready source, or the control plane with the pod's bootstrap token. */
  svidSource?: SvidSource;
  controlPlane?: { url: string; token: string };
  /**
   * At start-up, wait up to this long for a control plane that refuses connections (it is
   * restarting) before giving up (default 0). Only the start waits: once running, a lookup while
   * it is away fails fast and the registry's cache answers.
   */
  controlPlaneStartupWaitMs?: number;
  /** Destination lookup. Defaults to the control plane's registry. */
  registry?: Registry;
  /** Register this pod's inbound address with the control plane (default: true with a control plane). */
  register?: boolean;
  /** The policy sidecar's OPA REST API (a real OPA too): http://... or unix:/... */
  policyUrl?: string;
  /**
   * The policy sidecar's check socket (@reelmesh/policy check-protocol.ts), the pod-local fast way
   * to ask: unix:/... or a loopback host:port. Exactly one of policyUrl, policyCheck, or insecureSkipPolicy.
   */
  policyCheck?: string;
  policyTimeoutMs?: number;
  /** Forward every authenticated call without asking a policy. For benchmarks only. */
  insecureSkipPolicy?: boolean;
  /** The app: http://127.0.0.1:<port> on the pod's loopback, or unix:<path> in the pod's folder. */
  appUrl: string;
  /** The mTLS listener, the pod's way in (default `127.0.0.1:0`; a pod IP in isolated mode). */
  inbound?: string;
  /** The plain listener the app sends through (default `127.0.0.1:0`; a Unix socket in the pod's folder). */
  outbound?: string;
  /**
   * The pod's own secret (shared-loopback pods: every process of the user reaches the pod's sockets):
   * added to every request forwarded to the app, and required on every request to the outbound listener.
   */
  podToken?: string;
  /** GET /health and /ready (default: none). */
  health?: string;
  accessLog?: Writable;
  /** Mesh CA bundle (PEM). Defaults to the bundle that comes with the SVID. */
  trustBundle?: string;
}

export interface RunningProxy {
  agent: string;
  spiffeId: string;
  /** What the proxy bound: inbound (https://host:port), outbound and health (http:// or unix:). */
  endpoints: { inbound: string; outbound: string; health?: string };
  /** The inbound port other pods reach (registered with the control plane). */
  inboundPort: number;
  /** What the app uses as its base URL for mesh calls (= endpoints.outbound). */
  outboundUrl: string;
  svidSource: SvidSource;
  close(): Promise<void>;
}

/** One proxy sidecar per pod: inbound mTLS + policy, outbound REGISTRY_ONLY mTLS, health. */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const policyWays = [opts.policyUrl, opts.policyCheck, opts.insecureSkipPolicy || undefined].filter((w) => w !== undefined).length;
  if (policyWays === 0) throw new Error('startProxy: policyUrl or policyCheck is required (fail closed); pass insecureSkipPolicy only for benchmarks');
  if (policyWays > 1) throw new Error('startProxy: give exactly one of policyUrl, policyCheck, insecureSkipPolicy');
  if (!opts.svidSource && !opts.controlPlane) throw new Error('startProxy: give svidSource or controlPlane');
  if (opts.podToken !== undefined && opts.podToken.length < 32) throw new Error('startProxy: podToken must be at least 32 characters');

  const cp = opts.controlPlane ? new ControlPlaneClient(opts.controlPlane) : undefined;
  const ownsSource = !opts.svidSource;
  const startupWait = opts.controlPlaneStartupWaitMs ?? 0;
  const atStart = <T>(work: () => Promise<T>) => (startupWait > 0 ? whileUnreachable(work, startupWait) : work());
  const svidSource = opts.svidSource ?? (await atStart(() => SvidSource.fromControlPlane(cp!)));
  const svid = svidSource.current();
  const spiffeId = svid.spiffeId;
  if (opts.spiffeId && opts.spiffeId !== spiffeId) {
    throw new Error(`startProxy: SVID is for ${spiffeId}, expected ${opts.spiffeId}`);
  }
  const { trustDomain, agent } = parseSpiffeId(spiffeId);
  if (agent !== opts.agent) throw new Error(`startProxy: SVID names agent ${agent}, not ${opts.agent}`);
  const registry = opts.registry ?? (cp ? new ControlPlaneRegistry(cp) : undefined);
  if (!registry) throw new Error('startProxy: a registry (or a control plane) is required');
  const trustBundle = opts.trustBundle ?? svid.bundlePem;

  const log = createAccessLogger(opts.accessLog);
  const timeoutMs = opts.policyTimeoutMs ?? 250;
  const policy = opts.policyCheck
    ? createCheckClient({ address: opts.policyCheck, timeoutMs })
    : opts.policyUrl
      ? createPolicyClient({ url: opts.policyUrl, timeoutMs })
      : null;
  const { podToken } = opts;
  const inbound = createInboundServer({ spiffeId, trustDomain, svid, trustBundle, policy, appUrl: opts.appUrl, podToken, log });
  const outbound = createOutboundServer({ spiffeId, svid, trustBundle, registry, podToken, log });
  const health = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/ready')) {
      const valid = svidSource.current().notAfter.getTime() > Date.now();
      return sendJson(res, valid ? 200 : 503, { status: valid ? 'ok' : 'svid_expired', agent, spiffeId });
    }
    sendError(req, res, new HttpError(404, 'NOT_FOUND', 'only GET /health and /ready'));
  });

  const onRotated = (next: typeof svid) => {
    updateInboundSvid(inbound, next, trustBundle);
    outbound.updateSvid(next);
  };
  svidSource.on('rotated', onRotated);

  const [inboundUrl, outboundUrl, healthUrl] = await Promise.all([
    listen(inbound, opts.inbound ?? '127.0.0.1:0', 'https'),
    listen(outbound.server, opts.outbound ?? '127.0.0.1:0'),
    opts.health ? listen(health, opts.health) : undefined,
  ]);
  const bound = new URL(inboundUrl);
  const inboundPort = Number(bound.port);
  if (cp && opts.register !== false) await atStart(() => cp.register({ agent, host: bound.hostname.replace(/^\[|\]$/g, ''), port: inboundPort }));

  return {
    agent,
    spiffeId,
    endpoints: { inbound: inboundUrl, outbound: outboundUrl, ...(healthUrl ? { health: healthUrl } : {}) },
    inboundPort,
    outboundUrl,
    svidSource,
    async close() {
      svidSource.off('rotated', onRotated);
      if (ownsSource) svidSource.stop();
      // In-flight chunk transfers finish; idle keep-alive connections close at once.
      await Promise.all([closeServer(inbound), closeServer(outbound.server), closeServer(health, 0)]);
      outbound.close();
      policy?.close();
      cp?.close();
    },
  };
}
