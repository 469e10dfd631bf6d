import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { signPolicyDirectory } from '@reelmesh/provenance';
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
  /**
   * Policy travels as the owner's signed OPA bundle (default true): sidecars load only bundles
   * signed by the owner's key and never go back to an older revision. False: plain data pushes.
   */
  signedPolicy?: boolean;
  /** The owner's own bundle-signing key (EC P-256, PKCS#8 PEM); default: a fresh one per run. */
  policyKeyPem?: string;
  /** Isolated pods (netns mode): where each process runs and which addresses it binds. */
  sandbox?: MeshSandbox;
  /**
   * The owner's audit ledger in the control plane (default on with the mesh): every pod's app
   * ships its handoffs and every policy sidecar its decisions there. `env` seals it (KMS).
   */
  audit?: { dir: string; ownerActor: string; env?: Record<string, string> } | false;
}

/** What the mesh needs from an isolated-pod platform (implemented in ./isolation). */
export interface MeshSandbox {
  /** Command prefix running a process of `pod` ('platform' = control plane + KMS) as a role. */
  command(pod: string, role: 'sidecar' | 'app' | 'root'): string[];
  /** The pod's own address on the bridge: its inbound listener binds and registers it. */
  podAddress(pod: string): string;
  platformAddress: string;
  /** Create a file a process of that role opens itself (its log), owned by that role. */
  handOver(path: string, role: 'sidecar' | 'app'): Promise<void>;
  /** Host URLs port-forwarded to 127.0.0.1:<port> (or <host>:<port>) inside the pod's namespace. */
  forward(pod: string, targets: Array<number | string>): Promise<string[]>;
  /** Let every pod's app uid reach this one address:port (the KMS). */
  allowAppEgress(address: string, port: number): Promise<void>;
}

export interface ControlPlane {
  /** Where pods reach it. */
  url: string;
  /** Where this process reaches it: the same URL, or a port-forward for isolated pods. */
  adminUrl: string;
  adminToken: string;
  enroll(actor: string, agent: string): Promise<{ token: string; spiffeId: string }>;
  /** The owner publishes a policy data document; the store pushes it to every policy sidecar. */
  publishPolicy(document: unknown): Promise<{ revision: number; pushed: Array<{ agent: string; ok: boolean }> }>;
  /** The owner publishes its signed OPA bundle (tar.gz); every sidecar verifies it before loading. */
  publishBundle(archive: Buffer): Promise<{ revision: number }>;
}

async function call<T>(url: string, method: string, token: string, body: unknown, what: string): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`control plane refused to ${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
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
  /**
   * Environment for the pod's app: the control plane and the pod's own bootstrap token, so the app
   * fetches the same SVID as its proxy and signs provenance with it (see loadSigningIdentity).
   */
  appEnv: Record<string, string>;
}

/** The control plane: the CA issuing SVIDs, the service registry. */
export async function startControlPlaneProcess(opts: MeshOptions): Promise<ControlPlane> {
  const adminToken = randomBytes(32).toString('base64url');
  const caDir = join(opts.stateDir, 'ca');
  // The mesh folder stays traversable (sidecars read the owner's public bundle key from it); the CA's is private.
  await mkdir(opts.stateDir, { recursive: true, mode: 0o755 });
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  const sandbox = opts.sandbox;
  // Signed policy (the default): the owner's bundle key exists before the control plane starts,
  // so its policy store takes only bundles signed with it. Only the public half leaves this process.
  const signed = !opts.withoutPolicy && !opts.policyUrl && opts.signedPolicy !== false;
  const ownerKey = !signed ? undefined : opts.policyKeyPem ? keyPairOf(opts.policyKeyPem) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // Public: every sidecar (in netns mode running as its own uid) must read it.
  if (ownerKey) await writeFile(ownerBundleKey(opts), ownerKey.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  const { ready } = await opts.group.spawn({
    name: 'control-plane',
    entry: CONTROL_PLANE,
    args: [
      '--port', '0', '--trust-domain', opts.workflow.metadata.trustDomain, '--dir', caDir, '--svid-ttl', String(opts.svidTtlSeconds ?? 3600),
      ...(sandbox ? ['--host', sandbox.platformAddress] : []),
      ...(ownerKey ? ['--bundle-key', ownerBundleKey(opts), '--bundle-key-id', 'owner'] : []),
      ...(opts.audit ? ['--audit-dir', opts.audit.dir, '--audit-workflow', opts.workflow.metadata.id, '--audit-owner-actor', opts.audit.ownerActor] : []),
    ],
    env: {
      REELMESH_CP_ADMIN_TOKEN: adminToken,
      ...(opts.audit ? (opts.audit.env ?? { REELMESH_AUDIT_PLAINTEXT: '1' }) : {}),
    },
    logFile: join(opts.logDir, 'control-plane.log'),
    readyOn: 'stdout',
    // Stopped after the pods: their last audit events still reach the ledger.
    stopPhase: 1,
    wrap: sandbox?.command('platform', 'root'),
  });
  const url = String(ready.url);
  // Isolated: pods use the bridge address; this process goes through a port-forward.
  const adminUrl = sandbox ? (await sandbox.forward('platform', [`${sandbox.platformAddress}:${new URL(url).port}`]))[0] : url;
  // Apps fetch their own SVID (to sign provenance) from the control plane: let app uids reach it.
  if (sandbox) await sandbox.allowAppEgress(sandbox.platformAddress, Number(new URL(url).port));
  const cp: ControlPlane = {
    url,
    adminUrl,
    adminToken,
    enroll: (actor, agent) => call(`${adminUrl}/v1/workloads`, 'POST', adminToken, { actor, agent }, `enrol ${agent}`),
    publishPolicy: (document) => call(`${adminUrl}/v1/policy`, 'PUT', adminToken, document, 'publish policy'),
    async publishBundle(archive) {
      const res = await fetch(`${adminUrl}/v1/policy/bundle`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/gzip' },
        body: new Uint8Array(archive),
      });
      if (!res.ok) throw new Error(`control plane refused the policy bundle: ${res.status} ${await res.text()}`);
      return (await res.json()) as { revision: number };
    },
  };
  if (!opts.withoutPolicy && !opts.policyUrl) {
    if (!ownerKey) {
      await cp.publishPolicy(JSON.parse(await readFile(opts.policyData ?? POLICY_DATA, 'utf8')));
    } else {
      // The owner signs the policy with its own key; the store and every sidecar verify it.
      const { archive } = signPolicyDirectory({
        policyDir: dirname(POLICY_DATA),
        dataFile: opts.policyData,
        privateKey: ownerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        keyId: 'owner',
        revision: Date.now(),
      });
      await cp.publishBundle(archive);
    }
  }
  return cp;
}

function keyPairOf(privatePem: string) {
  const privateKey = createPrivateKey(privatePem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** Where the owner's bundle-signing public key is kept for the policy sidecars. */
function ownerBundleKey(opts: Pick<MeshOptions, 'stateDir'>): string {
  return join(opts.stateDir, 'owner-bundle-key.pub.pem');
}

/** Wait until a policy sidecar has a policy loaded (its /health turns 200 once the store pushed). */
async function waitForPolicy(url: string, agent: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > deadline) throw new Error(`policy sidecar of ${agent} never received a policy from the control plane`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The two sidecars of one pod: the policy sidecar (OPA's job) and the proxy (Envoy's job). The
 * app is started afterwards on `appPort`, reachable from other pods only through `inboundPort`.
 */
export async function startPodSidecars(
  opts: MeshOptions & {
    cp: ControlPlane;
    actor: string;
    agent: string;
    /** Started at the same time as the sidecars (the pod's app): a pod is ready when all three are. */
    alongside?: (pod: MeshPod) => Promise<void>;
  },
): Promise<MeshPod> {
  const { token, spiffeId } = await opts.cp.enroll(opts.actor, opts.agent);
  const [appPort, inboundPort, outboundPort, healthPort, policyPort] = await freePorts(5);
  const sandbox = opts.sandbox;
  const withPolicySidecar = !opts.policyUrl && !opts.withoutPolicy;
  // Isolated: the policy sidecar listens on the pod's address, so the control plane can push to it.
  const policyHost = sandbox ? sandbox.podAddress(opts.agent) : '127.0.0.1';
  const policyUrl = withPolicySidecar ? `http://${policyHost}:${policyPort}` : opts.policyUrl;
  const decisionLog = withPolicySidecar ? join(opts.logDir, `${opts.agent}.decisions.log`) : undefined;
  const accessLog = join(opts.logDir, `${opts.agent}.access.log`);
  const appEnv = { REELMESH_CONTROL_PLANE: opts.cp.url, REELMESH_BOOTSTRAP_TOKEN: token };
  const pod: MeshPod = { agent: opts.agent, spiffeId, appPort, inboundPort, outboundPort, healthPort, policyUrl, accessLog, decisionLog, appEnv };

  const startPolicy = async () => {
    if (!withPolicySidecar) return;
    await sandbox?.handOver(decisionLog!, 'sidecar');
    const updateToken = randomBytes(32).toString('base64url');
    await opts.group.spawn({
      name: `${opts.agent}/policy`,
      entry: POLICY,
      // No policy of its own: it denies everything until the owner's policy store pushes one.
      args: [
        '--port', String(policyPort),
        ...(opts.signedPolicy === false ? ['--wait-for-push'] : ['--bundle-key', ownerBundleKey(opts), '--bundle-key-id', 'owner']),
        '--decision-log', decisionLog!,
        '--host', policyHost,
        // Every decision also goes to the owner's audit ledger, as the pod (its token).
        ...(opts.audit ? ['--audit-url', `${opts.cp.url}/v1/audit/logs`] : []),
      ],
      env: { POLICY_UPDATE_TOKEN: updateToken, ...(opts.audit ? { REELMESH_AUDIT_TOKEN: token } : {}) },
      logFile: join(opts.logDir, `${opts.agent}.policy.log`),
      readyOn: 'stdout',
      wrap: sandbox?.command(opts.agent, 'sidecar'),
    });
    // The pod registers its own policy sidecar; the store pushes the current policy right away.
    await call(`${opts.cp.adminUrl}/v1/policy-sidecars/${opts.agent}`, 'PUT', token, { url: policyUrl, token: updateToken }, `register ${opts.agent}'s policy sidecar`);
    await waitForPolicy(sandbox ? (await sandbox.forward(opts.agent, [new URL(policyUrl!).host]))[0] : policyUrl!, opts.agent);
  };

  // Until its policy sidecar has a policy the proxy simply denies (fail closed), so the three
  // containers can start together, as in a Kubernetes pod.
  const startProxy = async () => {
    await sandbox?.handOver(accessLog, 'sidecar');
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
        ...(sandbox ? ['--inbound-host', sandbox.podAddress(opts.agent)] : []),
      ],
      env: { REELMESH_BOOTSTRAP_TOKEN: token },
      logFile: join(opts.logDir, `${opts.agent}.proxy.log`),
      readyOn: 'stdout',
      wrap: sandbox?.command(opts.agent, 'sidecar'),
    });
  };

  await Promise.all([startPolicy(), startProxy(), opts.alongside?.(pod)]);
  return pod;
}
