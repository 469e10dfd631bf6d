import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { POD_PORTS } from '@reelmesh/addressing';
import { AGENT_ENV } from '@reelmesh/agent-kit';
import { CONTROL_PLANE } from '@reelmesh/app-control-plane';
import { POLICY_SIDECAR } from '@reelmesh/app-policy-sidecar';
import { PROXY_SIDECAR } from '@reelmesh/app-proxy-sidecar';
import { OWNER_BUNDLE_KEY_ID, signPolicyDirectory } from '@reelmesh/provenance';
import { writeFileAtomic } from '@reelmesh/storage';
import { CONTROL_PLANE_STARTUP_WAIT_MS, ControlPlaneClient, whileUnreachable } from '@reelmesh/workload-identity';
import type { Workflow } from '@reelmesh/workflow';
import { bindAgain, type ProcessGroup } from './process-group';
import { REPO_ROOT } from './repo';

/** The owner's policy folder (Rego + generated data), signed into the bundle the sidecars load. */
export const POLICY_DIR = resolve(REPO_ROOT, 'policies/reelmesh');
export const POLICY_DATA = join(POLICY_DIR, 'data.json');

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
  /** The owner's own bundle-signing key (EC P-256, PKCS#8 PEM); default: one made for the run, kept in stateDir. */
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
  /** Let every pod's app uid reach this one address:port of the platform (the KMS, the control plane). */
  allowAppEgress(address: string, port: number): Promise<void>;
}

/** The owner's handle on the control plane. */
export interface ControlPlane {
  /** Where pods reach it. */
  url: string;
  /** The owner's admin client (through a port-forward for isolated pods). */
  admin: ControlPlaneClient;
  adminToken: string;
}

/**
 * Where the processes of one pod meet, fixed before any of them starts so the three start together
 * and nobody guesses a free port: on a shared loopback, Unix sockets in the pod's own folder; in a
 * pod with its own network namespace, the pod's fixed ports (as in Compose and Kubernetes). Only
 * the inbound listener of a shared-loopback pod binds port 0; it registers what it got.
 */
export interface PodPlan {
  appListen: string;
  /** How the proxy (and, for tests, the host) reaches the app. */
  appUrl: string;
  outboundListen: string;
  /** How the app reaches its outbound proxy. */
  outboundUrl: string;
  policyListen: string;
  /** How the control plane (and an operator) reach the policy sidecar's OPA REST API. */
  policyUrl: string;
  /** Where the policy sidecar answers its check socket, and how the pod's proxy reaches it (same notation). */
  policyCheck: string;
  inboundListen: string;
}

export function planPod(agent: string, where: { socketDir: string } | { sandbox: MeshSandbox }): PodPlan {
  if ('sandbox' in where) {
    const address = where.sandbox.podAddress(agent);
    return {
      appListen: `127.0.0.1:${POD_PORTS.app}`,
      appUrl: `http://127.0.0.1:${POD_PORTS.app}`,
      outboundListen: `127.0.0.1:${POD_PORTS.outbound}`,
      outboundUrl: `http://127.0.0.1:${POD_PORTS.outbound}`,
      // The control plane pushes policy from the platform namespace: the sidecar listens on the pod's address.
      policyListen: `${address}:${POD_PORTS.policy}`,
      policyUrl: `http://${address}:${POD_PORTS.policy}`,
      // Only the pod's own proxy asks: the pod's loopback.
      policyCheck: `127.0.0.1:${POD_PORTS.policyCheck}`,
      inboundListen: `${address}:${POD_PORTS.inbound}`,
    };
  }
  const socket = (name: string) => `unix:${join(where.socketDir, agent, `${name}.sock`)}`;
  return {
    appListen: socket('app'),
    appUrl: socket('app'),
    outboundListen: socket('outbound'),
    outboundUrl: socket('outbound'),
    policyListen: socket('policy'),
    policyUrl: socket('policy'),
    policyCheck: socket('check'),
    inboundListen: '127.0.0.1:0',
  };
}

export interface MeshPod {
  agent: string;
  spiffeId: string;
  /** The app, as the pod's proxy reaches it. */
  appUrl: string;
  /** The pod's mTLS listener, as other pods reach it (registered with the control plane). */
  inboundUrl: string;
  inboundPort: number;
  /** The app's way out (what the app's REELMESH_OUTBOUND_PROXY says). */
  outboundUrl: string;
  policyUrl?: string;
  accessLog: string;
  decisionLog?: string;
  /** The pod's workload identity for its app: the control plane and the pod's bootstrap token. */
  identity: { controlPlane: string; bootstrapToken: string };
  /**
   * The pod's own secret, known to its app and its proxy only: the proxy adds it to what it forwards
   * to the app, the app to what it sends through the outbound listener; either refuses a request
   * without it, so a process that merely reaches the pod's sockets neither talks to the app nor
   * sends as the pod (what it does not stop: docs/isolation.md).
   */
  podToken: string;
}

/** The control plane: the CA issuing SVIDs, the registry, the owner's policy store and audit ledger. */
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
  const ownerKey = !signed ? undefined : keyPairOf(opts.policyKeyPem ?? (await runSigningKey(opts)));
  // Public: every sidecar (in netns mode running as its own uid) must read it.
  if (ownerKey) await writeFileAtomic(ownerBundleKey(opts), ownerKey.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  const args = [
    '--listen', `${sandbox?.platformAddress ?? '127.0.0.1'}:0`,
    '--trust-domain', opts.workflow.metadata.trustDomain, '--dir', caDir, '--svid-ttl', String(opts.svidTtlSeconds ?? 3600),
    ...(ownerKey ? ['--bundle-key', ownerBundleKey(opts), '--bundle-key-id', OWNER_BUNDLE_KEY_ID] : []),
    ...(opts.audit ? ['--audit-dir', opts.audit.dir, '--audit-workflow', opts.workflow.metadata.id, '--audit-owner-actor', opts.audit.ownerActor] : []),
  ];
  // The owner's handle, made once: isolated, pods use the bridge address and this process a port-forward.
  let admin: ControlPlaneClient | undefined;
  const connect = async (url: string) => {
    const adminUrl = sandbox ? (await sandbox.forward('platform', [new URL(url).host]))[0] : url;
    // Apps fetch their own SVID (to sign provenance) from the control plane: let app uids reach it.
    if (sandbox) await sandbox.allowAppEgress(sandbox.platformAddress, Number(new URL(url).port));
    const client = new ControlPlaneClient({ url: adminUrl, token: adminToken });
    opts.group.onStopped(async () => client.close());
    return client;
  };
  const publish = async (client: ControlPlaneClient) => {
    if (opts.withoutPolicy || opts.policyUrl) return;
    if (!ownerKey) return void (await client.publishPolicy(JSON.parse(await readFile(opts.policyData ?? POLICY_DATA, 'utf8'))));
    // The owner signs the policy with its own key; the store and every sidecar verify it.
    const { archive } = signPolicyDirectory({
      policyDir: POLICY_DIR,
      dataFile: opts.policyData,
      privateKey: ownerKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyId: OWNER_BUNDLE_KEY_ID,
      revision: Date.now(),
    });
    await client.publishBundle(archive);
  };
  const { ready } = await opts.group.spawn({
    name: 'control-plane',
    entry: CONTROL_PLANE.main,
    args,
    env: {
      REELMESH_CP_ADMIN_TOKEN: adminToken,
      ...(opts.audit ? (opts.audit.env ?? { REELMESH_AUDIT_PLAINTEXT: '1' }) : {}),
    },
    logFile: join(opts.logDir, 'control-plane.log'),
    // Stopped after the pods: their last audit events still reach the ledger.
    stopPhase: 1,
    wrap: sandbox?.command('platform', 'root'),
    // Restarted with the same --dir and admin token, on the port every pod was given.
    restartSpec: (first) => ({ args: bindAgain(args, '--listen', first.endpoints.api) }),
    // Every incarnation gets the owner's policy: restarted policy sidecars register with it and
    // must find one, whether or not the store kept it.
    afterReady: async (started) => publish((admin ??= await connect(started.endpoints.api))),
  });
  const url = ready.endpoints.api;
  return { url, admin: admin!, adminToken };
}

function keyPairOf(privatePem: string) {
  const privateKey = createPrivateKey(privatePem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/**
 * The owner's bundle-signing key of this run, made on its first start and kept (0600) in the mesh
 * state folder, beside the CA: a resumed run signs with the key its control plane already trusts.
 */
async function runSigningKey(opts: Pick<MeshOptions, 'stateDir'>): Promise<string> {
  const file = join(opts.stateDir, 'owner-bundle-key.pem');
  const kept = await readFile(file, 'utf8').catch(() => undefined);
  if (kept) return kept;
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await writeFileAtomic(file, pem, { mode: 0o600 });
  return pem;
}

/** Where the owner's bundle-signing public key is kept for the policy sidecars. */
function ownerBundleKey(opts: Pick<MeshOptions, 'stateDir'>): string {
  return join(opts.stateDir, 'owner-bundle-key.pub.pem');
}

/**
 * One pod: the policy sidecar (OPA's job), the proxy (Envoy's job) and the app, started together,
 * as a Kubernetes pod's containers are. Until its policy sidecar holds the owner's policy the
 * proxy denies (fail closed); the pod is ready when all three are and the policy is loaded.
 */
export async function startPod(
  opts: MeshOptions & {
    cp: ControlPlane;
    actor: string;
    agent: string;
    plan: PodPlan;
    /** Starts the pod's app (its environment needs the pod's identity and outbound address). */
    app: (pod: MeshPod) => Promise<void>;
  },
): Promise<MeshPod> {
  const { plan, sandbox, agent } = opts;
  const { token, spiffeId } = await opts.cp.admin.enroll({ actor: opts.actor, agent });
  const withPolicySidecar = !opts.policyUrl && !opts.withoutPolicy;
  const policyUrl = withPolicySidecar ? plan.policyUrl : opts.policyUrl;
  const decisionLog = withPolicySidecar ? join(opts.logDir, `${agent}.decisions.log`) : undefined;
  const accessLog = join(opts.logDir, `${agent}.access.log`);
  const identity = { controlPlane: opts.cp.url, bootstrapToken: token };
  const podToken = randomBytes(32).toString('base64url');

  const startPolicy = async () => {
    if (!withPolicySidecar) return;
    await sandbox?.handOver(decisionLog!, 'sidecar');
    const updateToken = randomBytes(32).toString('base64url');
    await opts.group.spawn({
      name: `${agent}/policy`,
      entry: POLICY_SIDECAR.main,
      // No policy of its own: it denies everything until the owner's policy store pushes one.
      args: [
        '--listen', plan.policyListen,
        '--check-listen', plan.policyCheck,
        ...(opts.signedPolicy === false ? ['--wait-for-push'] : ['--bundle-key', ownerBundleKey(opts), '--bundle-key-id', OWNER_BUNDLE_KEY_ID]),
        '--decision-log', decisionLog!,
        // Every decision also goes to the owner's audit ledger, as the pod (its token).
        ...(opts.audit ? ['--audit-url', `${opts.cp.url}/v1/audit/logs`] : []),
      ],
      env: { POLICY_UPDATE_TOKEN: updateToken, ...(opts.audit ? { REELMESH_AUDIT_TOKEN: token } : {}) },
      logFile: join(opts.logDir, `${agent}.policy.log`),
      wrap: sandbox?.command(agent, 'sidecar'),
      // The pod registers its own policy sidecar, at start and after every restart (a restarted one
      // holds no policy); the store pushes the current policy right away and says whether the
      // sidecar took it: no polling.
      // A restart may come while the control plane is itself restarting: wait for it (bounded)
      // rather than count its absence as this sidecar's crash.
      afterReady: (_ready, { restarts }) => (restarts === 0 ? registerPolicySidecar(updateToken) : whileUnreachable(() => registerPolicySidecar(updateToken), CONTROL_PLANE_STARTUP_WAIT_MS)),
    });
  };
  const registerPolicySidecar = async (updateToken: string) => {
    const pod = new ControlPlaneClient({ url: opts.cp.admin.url, token });
    try {
      const { pushed } = await pod.registerPolicySidecar(agent, { url: policyUrl!, token: updateToken });
      if (!pushed) throw new Error(`no policy was published for ${agent}'s policy sidecar`);
      if (!pushed.ok) throw new Error(`${agent}'s policy sidecar refused the owner's policy: ${pushed.error ?? `HTTP ${pushed.status}`}`);
    } finally {
      pod.close();
    }
  };

  const startProxy = async () => {
    await sandbox?.handOver(accessLog, 'sidecar');
    const args = [
      '--agent', agent,
      '--spiffe-id', spiffeId,
      '--control-plane', opts.cp.url,
      // Its own policy sidecar on the check socket; a policy given from outside (a real OPA) on its REST API.
      ...(withPolicySidecar ? ['--policy-check', plan.policyCheck] : policyUrl ? ['--policy-url', policyUrl] : ['--insecure-skip-policy']),
      '--policy-timeout-ms', String(opts.policyTimeoutMs ?? 250),
      '--app-url', plan.appUrl,
      '--inbound', plan.inboundListen,
      '--outbound', plan.outboundListen,
      '--access-log', accessLog,
    ];
    const { ready } = await opts.group.spawn({
      name: `${agent}/proxy`,
      entry: PROXY_SIDECAR.main,
      args,
      // Secrets by environment, never argv (visible in ps).
      env: { REELMESH_BOOTSTRAP_TOKEN: token, [AGENT_ENV.podToken]: podToken },
      logFile: join(opts.logDir, `${agent}.proxy.log`),
      wrap: sandbox?.command(agent, 'sidecar'),
      // Other pods reach it at the address it registered: a restart binds the same one.
      restartSpec: (first) => ({ args: bindAgain(args, '--inbound', first.endpoints.inbound) }),
    });
    return ready.endpoints.inbound;
  };

  const pod: MeshPod = { agent, spiffeId, appUrl: plan.appUrl, inboundUrl: '', inboundPort: 0, outboundUrl: plan.outboundUrl, policyUrl, accessLog, decisionLog, identity, podToken };
  const [inboundUrl] = await Promise.all([startProxy(), startPolicy(), opts.app(pod)]);
  pod.inboundUrl = inboundUrl;
  pod.inboundPort = Number(new URL(inboundUrl).port);
  return pod;
}
