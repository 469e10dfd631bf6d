import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Workflow } from '@reelmesh/workflow';
import { freePorts } from './ports';
import type { ProcessGroup } from './process-group';
import { REPO_ROOT } from './repo';

const CONTROL_PLANE = resolve(REPO_ROOT, 'libs/mesh/src/control-plane/main.ts');
const PROXY = resolve(REPO_ROOT, 'libs/mesh/src/proxy/main.ts');
const POLICY = resolve(REPO_ROOT, 'libs/policy/src/main.ts');
export const POLICY_DATA = resolve(REPO_ROOT, 'policies/reelmesh/data.json');

export interface MeshOptions {
  group: ProcessGroup;
  workflow: Workflow;
  stateDir: string;
  logDir: string;
  /** Lifetime of issued SVIDs (default 1 h; rotated at half-life). */
  svidTtlSeconds?: number;
  /** Where proxies ask for decisions: our policy sidecars (default) or any OPA-compatible URL. */
  policyUrl?: string;
  /** Start no policy sidecars and let proxies forward without a decision (benchmark baseline only). */
  withoutPolicy?: boolean;
  /** Policy data document for the sidecars (default: the generated policies/reelmesh/data.json). */
  policyData?: string;
  policyTimeoutMs?: number;
}

export interface ControlPlane {
  url: string;
  adminToken: string;
  enroll(actor: string, agent: string): Promise<{ token: string; spiffeId: string }>;
}

export interface MeshPod {
  agent: string;
  spiffeId: string;
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  healthPort: number;
  policyUrl?: string;
  accessLog: string;
  decisionLog?: string;
}

/** The control plane: the CA issuing SVIDs, the service registry. */
export async function startControlPlaneProcess(opts: MeshOptions): Promise<ControlPlane> {
  const adminToken = randomBytes(32).toString('base64url');
  const caDir = join(opts.stateDir, 'ca');
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  const { ready } = await opts.group.spawn({
    name: 'control-plane',
    entry: CONTROL_PLANE,
    args: ['--port', '0', '--trust-domain', opts.workflow.metadata.trustDomain, '--dir', caDir, '--svid-ttl', String(opts.svidTtlSeconds ?? 3600)],
    env: { REELMESH_CP_ADMIN_TOKEN: adminToken },
    logFile: join(opts.logDir, 'control-plane.log'),
    readyOn: 'stdout',
  });
  const url = String(ready.url);
  return {
    url,
    adminToken,
    async enroll(actor, agent) {
      const res = await fetch(`${url}/v1/workloads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor, agent }),
      });
      if (!res.ok) throw new Error(`control plane refused to enrol ${agent}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { token: string; spiffeId: string };
    },
  };
}

/**
 * The two sidecars of one pod: the policy sidecar (OPA's job) and the proxy (Envoy's job). The
 * app is started afterwards on `appPort`, reachable from other pods only through `inboundPort`.
 */
export async function startPodSidecars(opts: MeshOptions & { cp: ControlPlane; actor: string; agent: string }): Promise<MeshPod> {
  const { token, spiffeId } = await opts.cp.enroll(opts.actor, opts.agent);
  const [appPort, inboundPort, outboundPort, healthPort] = await freePorts(4);
  let policyUrl = opts.policyUrl;
  let decisionLog: string | undefined;
  if (!policyUrl && !opts.withoutPolicy) {
    decisionLog = join(opts.logDir, `${opts.agent}.decisions.log`);
    const { ready } = await opts.group.spawn({
      name: `${opts.agent}/policy`,
      entry: POLICY,
      args: ['--port', '0', '--data', opts.policyData ?? POLICY_DATA, '--decision-log', decisionLog],
      env: {},
      logFile: join(opts.logDir, `${opts.agent}.policy.log`),
      readyOn: 'stdout',
    });
    policyUrl = String(ready.url);
  }
  const accessLog = join(opts.logDir, `${opts.agent}.access.log`);
  await opts.group.spawn({
    name: `${opts.agent}/proxy`,
    entry: PROXY,
    args: [
      '--agent', opts.agent,
      '--spiffe-id', spiffeId,
      '--control-plane', opts.cp.url,
      ...(policyUrl ? ['--policy-url', policyUrl] : ['--insecure-skip-policy']),
      '--policy-timeout-ms', String(opts.policyTimeoutMs ?? 250),
      '--app-url', `http://127.0.0.1:${appPort}`,
      '--inbound-port', String(inboundPort),
      '--outbound-port', String(outboundPort),
      '--health-port', String(healthPort),
      '--access-log', accessLog,
    ],
    env: { REELMESH_BOOTSTRAP_TOKEN: token },
    logFile: join(opts.logDir, `${opts.agent}.proxy.log`),
    readyOn: 'stdout',
  });
  return { agent: opts.agent, spiffeId, appPort, inboundPort, outboundPort, healthPort, policyUrl, accessLog, decisionLog };
}
