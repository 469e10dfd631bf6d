import http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { Writable } from 'node:stream';
import { SvidSource } from '../ca/svid-source';
import { ControlPlaneClient, ControlPlaneRegistry } from '../control-plane/client';
import type { Registry } from '../control-plane/registry';
import { sendJson } from '../http-json';
import { parseSpiffeId } from '../spiffe';
import { createAccessLogger } from './access-log';
import { createInboundServer, updateInboundSvid } from './inbound';
import { createOutboundServer } from './outbound';
import { createPolicyClient } from './policy-client';

export interface ProxyOptions {
  agent: string;
  /** Expected identity; checked against the SVID. Optional with a control plane (it knows). */
  spiffeId?: string;
  /** Where the SVID comes from: a ready source, or the control plane with the pod's bootstrap token. */
  svidSource?: SvidSource;
  controlPlane?: { url: string; token: string };
  /** Destination lookup. Defaults to the control plane's registry. */
  registry?: Registry;
  /** Register this pod's inbound address with the control plane (default: true with a control plane). */
  register?: boolean;
  /** Base URL of the policy sidecar (OPA REST API). Required unless insecureSkipPolicy. */
  policyUrl?: string;
  policyTimeoutMs?: number;
  /** Forward every authenticated call without asking a policy. For benchmarks only. */
  insecureSkipPolicy?: boolean;
  /** The app on the pod's loopback, e.g. http://127.0.0.1:3000 */
  appUrl: string;
  /** Interface of the inbound mTLS listener (default 127.0.0.1; a pod IP in isolated mode). */
  inboundHost?: string;
  inboundPort?: number;
  outboundPort?: number;
  healthPort?: number;
  accessLog?: Writable;
  /** Mesh CA bundle (PEM). Defaults to the bundle that comes with the SVID. */
  trustBundle?: string;
}

export interface RunningProxy {
  agent: string;
  spiffeId: string;
  inboundPort: number;
  outboundPort: number;
  healthPort: number;
  /** What the app uses as its HTTP proxy / base URL for mesh calls. */
  outboundUrl: string;
  svidSource: SvidSource;
  close(): Promise<void>;
}

/** One proxy sidecar per pod: inbound mTLS + policy, outbound REGISTRY_ONLY mTLS, health. */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  if (!opts.policyUrl && !opts.insecureSkipPolicy) {
    throw new Error('startProxy: policyUrl is required (fail closed); pass insecureSkipPolicy only for benchmarks');
  }
  if (!opts.svidSource && !opts.controlPlane) throw new Error('startProxy: give svidSource or controlPlane');

  const cp = opts.controlPlane ? new ControlPlaneClient(opts.controlPlane) : undefined;
  const ownsSource = !opts.svidSource;
  const svidSource = opts.svidSource ?? (await SvidSource.start({ fetch: () => cp!.fetchSvid() }));
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
  const policy = opts.policyUrl
    ? createPolicyClient({ url: opts.policyUrl, timeoutMs: opts.policyTimeoutMs ?? 250 })
    : null;
  const inbound = createInboundServer({ spiffeId, trustDomain, svid, trustBundle, policy, appUrl: opts.appUrl, log });
  const outbound = createOutboundServer({ spiffeId, svid, trustBundle, registry, log });
  const health = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/health' || req.url === '/ready')) {
      const valid = svidSource.current().notAfter.getTime() > Date.now();
      return sendJson(res, valid ? 200 : 503, { status: valid ? 'ok' : 'svid_expired', agent, spiffeId });
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'only GET /health and /ready' } });
  });

  const onRotated = (next: typeof svid) => {
    updateInboundSvid(inbound, next, trustBundle);
    outbound.updateSvid(next);
  };
  svidSource.on('rotated', onRotated);

  const inboundHost = opts.inboundHost ?? '127.0.0.1';
  const [inboundPort, outboundPort, healthPort] = await Promise.all([
    listen(inbound, opts.inboundPort ?? 0, inboundHost),
    listen(outbound.server, opts.outboundPort ?? 0, '127.0.0.1'),
    listen(health, opts.healthPort ?? 0, '127.0.0.1'),
  ]);
  if (cp && opts.register !== false) await cp.register({ agent, host: inboundHost, port: inboundPort });

  return {
    agent,
    spiffeId,
    inboundPort,
    outboundPort,
    healthPort,
    outboundUrl: `http://127.0.0.1:${outboundPort}`,
    svidSource,
    async close() {
      svidSource.off('rotated', onRotated);
      if (ownsSource) svidSource.stop();
      await Promise.all([closeServer(inbound), closeServer(outbound.server), closeServer(health)]);
      outbound.close();
      policy?.close();
      cp?.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
