// The agents' environment contract, in one place: the names every agent reads (agentConfigFromEnv,
// loadSigningIdentity, auditTrailFromEnv) and the one function that builds an agent's environment
// from the workflow for every deployment target — the local runtime, Docker Compose, Kubernetes.
import { kmsEnvironment, type KmsConfig } from '@reelmesh/envelope';
import { ownerOf, type Workflow } from '@reelmesh/workflow';

export const AGENT_ENV = Object.freeze({
  agent: 'REELMESH_AGENT',
  workflowPath: 'REELMESH_WORKFLOW',
  dataDir: 'REELMESH_DATA_DIR',
  /** Where the app listens: `host:port` (port 0 = any free port) or `unix:/path`. */
  listen: 'REELMESH_LISTEN',
  /** Plain local mode: agent -> endpoint of its next hops (JSON). */
  peers: 'REELMESH_PEERS',
  /** Mesh mode: the pod's outbound proxy; every call names its destination agent as Host. */
  outboundProxy: 'REELMESH_OUTBOUND_PROXY',
  /**
   * The pod's own secret, shared by the app and its proxy sidecar (same name for both): the app takes
   * no request without it (but GET /health) and sends it with every call through the outbound proxy.
   */
  podToken: 'REELMESH_POD_TOKEN',
  concurrency: 'REELMESH_CONCURRENCY',
  logLevel: 'LOG_LEVEL',
  exportDir: 'REELMESH_EXPORT_DIR',
  ingestDir: 'REELMESH_INGEST_DIR',
  lutPath: 'REELMESH_LUT',
  maxChunkBytes: 'REELMESH_MAX_CHUNK_BYTES',
  /**
   * The pod's workload identity from the control plane (signing key renewed at half-life): with the
   * pod's bootstrap token (local mesh), or without one where the control plane knows the pod by its
   * mesh identity (Compose, Istio).
   */
  controlPlane: 'REELMESH_CONTROL_PLANE',
  bootstrapToken: 'REELMESH_BOOTSTRAP_TOKEN',
  /** Or from files (dev CA, Compose). */
  signingKey: 'REELMESH_SIGNING_KEY',
  signingChain: 'REELMESH_SIGNING_CHAIN',
  trustBundle: 'REELMESH_TRUST_BUNDLE',
  /**
   * The owner's audit ledger: its events endpoint, or the control plane's address alone (then
   * /v1/audit/events). Default: the control plane's, with the pod's token, or by mesh identity without one.
   */
  auditUrl: 'REELMESH_AUDIT_URL',
  auditToken: 'REELMESH_AUDIT_TOKEN',
  /** How long an outage (KMS, ledger, a peer, a full disk) is waited out before work fails (ms; default 300000). */
  outageDeadlineMs: 'REELMESH_OUTAGE_DEADLINE_MS',
  /** The owner's watchdog: chunks missing at the sink are re-dispatched after this long without progress (ms; default 120000, 0 = off). */
  redispatchAfterMs: 'REELMESH_REDISPATCH_AFTER_MS',
  /** How long a SIGTERM'd agent may drain (finish jobs in flight and hand them on) before it exits anyway (ms; default 120000). */
  drainDeadlineMs: 'REELMESH_DRAIN_DEADLINE_MS',
});

/** A value the deployment target supplies: a literal, or a reference it resolves (a Kubernetes Secret or ConfigMap key, Compose's env_file). */
export type EnvSource = string | { readonly from: 'secret' | 'config'; readonly name: string; readonly key: string };

export interface AgentPlatform {
  /** The workflow file as the agent sees it. */
  workflowPath: string;
  /** The agent's own (sealed) volume. */
  dataDir: string;
  listen: string;
  /** How the agent reaches its next hops. */
  next: { outboundProxy: string } | { peers: Record<string, string> };
  /** The pod's own secret (the local runtime gives every pod one); pods in a network namespace of their own may do without. */
  podToken?: EnvSource;
  /** Folders for the owner's agent only: where masters are read from and the deliverable goes. */
  ownerDirs?: { ingest: string; export: string };
  /** The KMS settings (the owner's workflow key and the agent's own credentials): sealed storage. */
  kms?: Partial<Record<keyof KmsConfig, EnvSource>>;
  /** The workload identity that signs provenance: from the control plane (no token: by mesh identity), or files. */
  identity?: { controlPlane: string; bootstrapToken?: EnvSource } | { signingKey: string; signingChain: string; trustBundle: string };
  /** The owner's audit ledger; no token: the ledger knows the pod by its mesh identity. */
  audit?: { url: string; token?: EnvSource };
  /** Jobs run at once (default: 2 for the owner, which splits and assembles; 1 for contractors). */
  concurrency?: number;
  logLevel?: string;
  /** How long the agent may drain on SIGTERM (ms): under the platform's termination grace. */
  drainDeadlineMs?: number;
}

/** The environment of one agent of the workflow on one platform, as ordered name -> value pairs. */
export function agentEnvironment(workflow: Workflow, agentName: string, platform: AgentPlatform): Record<string, EnvSource> {
  if (!workflow.agents.some((agent) => agent.name === agentName)) throw new Error(`unknown agent "${agentName}" in workflow "${workflow.metadata.id}"`);
  const isOwner = ownerOf(workflow).agent === agentName;
  const env: Record<string, EnvSource> = {
    [AGENT_ENV.agent]: agentName,
    [AGENT_ENV.workflowPath]: platform.workflowPath,
    [AGENT_ENV.dataDir]: platform.dataDir,
    [AGENT_ENV.listen]: platform.listen,
    ...('outboundProxy' in platform.next ? { [AGENT_ENV.outboundProxy]: platform.next.outboundProxy } : { [AGENT_ENV.peers]: JSON.stringify(platform.next.peers) }),
    ...(platform.podToken ? { [AGENT_ENV.podToken]: platform.podToken } : {}),
    [AGENT_ENV.concurrency]: String(platform.concurrency ?? (isOwner ? 2 : 1)),
    ...(platform.logLevel ? { [AGENT_ENV.logLevel]: platform.logLevel } : {}),
    ...(platform.drainDeadlineMs ? { [AGENT_ENV.drainDeadlineMs]: String(platform.drainDeadlineMs) } : {}),
    ...(isOwner && platform.ownerDirs ? { [AGENT_ENV.ingestDir]: platform.ownerDirs.ingest, [AGENT_ENV.exportDir]: platform.ownerDirs.export } : {}),
  };
  Object.assign(env, kmsEnvironment(platform.kms ?? {}));
  const identity = platform.identity;
  if (identity && 'controlPlane' in identity) {
    env[AGENT_ENV.controlPlane] = identity.controlPlane;
    if (identity.bootstrapToken !== undefined) env[AGENT_ENV.bootstrapToken] = identity.bootstrapToken;
  } else if (identity) {
    env[AGENT_ENV.signingKey] = identity.signingKey;
    env[AGENT_ENV.signingChain] = identity.signingChain;
    env[AGENT_ENV.trustBundle] = identity.trustBundle;
  }
  if (platform.audit) {
    env[AGENT_ENV.auditUrl] = platform.audit.url;
    if (platform.audit.token !== undefined) env[AGENT_ENV.auditToken] = platform.audit.token;
  }
  return env;
}

/** How a target names the KMS keys: ARNs (local KMS), aliases (`alias/...`, kms-local in Compose/kind) or key ARNs (another account). */
export interface KmsKeyRefs {
  workflowKey: string;
  assetKey(actor: string): string;
}

/** An agent's KMS keys; the lists as the environment carries them are comma-joined. */
export interface AgentKmsKeys {
  /** The owner's workflow key: everything handed on is sealed under it. */
  keyId: string;
  /** Keys the agent trusts in envelope headers (aliases are resolved to key ARNs by the provider). */
  allowedKeyIds: string[];
  /** The agent's actor's private-asset key (its LUT, presets): sealed where only that actor can open it. */
  assetKeyId?: string;
}

/**
 * Which KMS keys an agent uses, for every target: the owner's workflow key, and its actor's
 * private-asset key if the actor is a contractor (the KMS provisions one per contractor actor and
 * none for the owner, whose data is the workflow's).
 */
export function agentKmsKeys(workflow: Workflow, agentName: string, refs: KmsKeyRefs): AgentKmsKeys {
  const agent = workflow.agents.find((a) => a.name === agentName);
  if (!agent) throw new Error(`unknown agent "${agentName}" in workflow "${workflow.metadata.id}"`);
  const asset = agent.actor === ownerOf(workflow).actor ? undefined : refs.assetKey(agent.actor);
  return { keyId: refs.workflowKey, allowedKeyIds: [refs.workflowKey, ...(asset ? [asset] : [])], ...(asset ? { assetKeyId: asset } : {}) };
}

/** The same environment with every value a literal (the local runtime has no Secrets to refer to). */
export function literalEnvironment(env: Record<string, EnvSource>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => {
      if (typeof value !== 'string') throw new Error(`${name} refers to ${value.from} ${value.name}/${value.key}; the local runtime needs the value itself`);
      return [name, value];
    }),
  );
}
