// Parity of the three targets: for every agent of the workflow, what Compose and the kind overlay
// give it (environment, mounted secrets, identity, policy wiring, failure statuses, audit wiring)
// against what the local runtime gives the same agent. All three environments come from the one
// builder (agentEnvironment); this test reads what was RENDERED (the Compose file as Compose reads
// it, with the env files `reelmesh certs` writes; the overlay as `kubectl kustomize` builds it), so
// a generator that drops or adds something for one target fails here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { POLICY_STATUS, formatSpiffeId } from '@reelmesh/addressing';
import { AGENT_ENV, agentEnvironment, agentKmsKeys, type EnvSource } from '@reelmesh/agent-kit';
import {
  AGENT_CONTAINER,
  certsFilesSeenBy,
  COMPOSE_CONTROL_PLANE_URL,
  COMPOSE_FILE,
  composeControlPlaneArgs,
  containerEnv,
  controlPlaneArgs,
  controlPlaneUrl,
  deploymentOf,
  envFileReader,
  envoyConfigPath,
  issueComposeCerts,
  mountedSources,
  OPA_CONFIG_PATH,
  podServices,
  podSpecOf,
  renderDeployFiles,
  serviceEnvironment,
  topologyOf,
  workloadSpiffeId,
  type ComposeDocument,
  type RenderedObject,
} from '@reelmesh/deploy';
import { KMS_ENV } from '@reelmesh/envelope';
import { assetKeyAlias, workflowKeyAlias } from '@reelmesh/kms-local';
import { localAgentPlatform, POLICY_DIR, REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow, ownerOf } from '@reelmesh/workflow';

const wf = loadWorkflow();
const topology = topologyOf(wf);
const owner = ownerOf(wf);
const agents = wf.agents.map((a) => a.name);
const files = new Map(renderDeployFiles(wf).map((f) => [f.path, f.content]));
const rendered = (path: string) => {
  const content = files.get(path);
  if (content === undefined) throw new Error(`reelmesh gen renders no ${path}`);
  return content;
};
const compose = parse(rendered(COMPOSE_FILE)) as ComposeDocument;

/**
 * Differences between targets that are the design, each with its reason; anything else differs, the test fails.
 * - the pod token: locally the app shares its pod's loopback with other pods' processes, so the proxy-to-app
 *   hop carries a per-pod secret; in Compose and Kubernetes the pod's network namespace is the boundary.
 * - the bootstrap token: locally the control plane knows a pod by it; in Compose and Kubernetes by its mesh
 *   identity (the client certificate its sidecar verified).
 * - the next hops: locally and in Compose through the pod's outbound proxy; in Kubernetes by Service URL,
 *   which istio-proxy intercepts.
 * - the audit URL: locally the agent derives it from the control plane it already has; elsewhere it is set.
 * - the drain deadline: a pod's must fit its termination grace (Kubernetes, Compose stop_grace_period);
 *   the local runtime stops its own processes and keeps the app's default.
 * - LOG_LEVEL: the local runtime passes its own; pods keep the app's default.
 */
const ONLY_LOCAL = new Set([AGENT_ENV.podToken, AGENT_ENV.bootstrapToken, AGENT_ENV.logLevel]);
const ONLY_DEPLOYED = new Set([AGENT_ENV.auditUrl, AGENT_ENV.drainDeadlineMs]);
const NEXT_HOPS = new Set([AGENT_ENV.outboundProxy, AGENT_ENV.peers]);

/** Which key a KMS key name stands for, the same on every target (ARNs locally, aliases in Compose/kind). */
function keyKinds(names: string, naming: { workflowKey: string; assetKey: (actor: string) => string }): string[] {
  const kinds = new Map<string, string>([[naming.workflowKey, 'workflow key'], ...wf.agents.map((a) => [naming.assetKey(a.actor), `${a.actor} asset key`] as const)]);
  return names.split(',').map((name) => kinds.get(name) ?? `unknown key ${name}`);
}
const LOCAL_KEYS = { workflowKey: 'arn:aws:kms:eu-west-1:111122223333:key/workflow', assetKey: (actor: string) => `arn:aws:kms:eu-west-1:111122223333:key/assets-${actor}` };
const ALIAS_KEYS = { workflowKey: workflowKeyAlias(owner.actor), assetKey: assetKeyAlias };

/** What the local runtime gives an agent in the mesh with sealed storage (its real platform builder). */
function localEnv(agent: string): Record<string, string> {
  const keys = agentKmsKeys(wf, agent, LOCAL_KEYS);
  const env = agentEnvironment(
    wf,
    agent,
    localAgentPlatform({
      workflowPath: '/repo/policies/workflow.yaml',
      dataDir: `/run/data/${agent}`,
      listen: `unix:/run/pods/${agent}/app.sock`,
      pod: { outboundUrl: `unix:/run/pods/${agent}/out.sock`, podToken: 'p'.repeat(43), identity: { controlPlane: 'http://127.0.0.1:7000', bootstrapToken: 'b'.repeat(43) } },
      peers: {},
      ingestDir: '/run/in',
      exportDir: '/run/out',
      kms: { endpoint: 'http://127.0.0.1:7001', region: 'eu-west-1', accessKeyId: 'AKIA', secretAccessKey: 'secret', ...keys, allowedKeyIds: keys.allowedKeyIds.join(',') },
    }),
  );
  return env as Record<string, string>;
}

let certsDir: string;
let kind: RenderedObject[] | undefined;
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  certsDir = mkdtempSync(join(tmpdir(), 'reelmesh-parity-certs-'));
  await issueComposeCerts(wf, { outDir: certsDir, policyDir: POLICY_DIR });
  if (kubectl) {
    const out = execFileSync('kubectl', ['kustomize', join(REPO_ROOT, 'k8s/overlays/kind')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    kind = parseAllDocuments(out).map((d) => d.toJSON() as RenderedObject).filter(Boolean);
  } else {
    console.warn('kubectl not found: the Kubernetes half of the parity test is SKIPPED (CI installs kubectl)');
  }
}, 120_000);
afterAll(() => rmSync(certsDir, { recursive: true, force: true }));

const composeEnv = (agent: string) => serviceEnvironment(compose.services[podServices(agent).app], envFileReader(certsDir));
function kindEnv(agent: string): Record<string, EnvSource> {
  return containerEnv(kind!, deploymentOf(kind!, agent, topology.agent(agent).namespace), AGENT_CONTAINER, { resolveConfigMaps: true });
}
const names = (env: object) => Object.keys(env).sort();
const withoutNames = (list: string[], drop: Set<string>) => list.filter((n) => !drop.has(n));

describe('Compose and Kubernetes give every agent what the local runtime gives it', () => {
  it.each(agents)('%s: the same environment variables, save the documented differences', (agent) => {
    const local = withoutNames(names(localEnv(agent)), new Set([...ONLY_LOCAL, ...NEXT_HOPS]));
    const inCompose = withoutNames(names(composeEnv(agent)), new Set([...ONLY_DEPLOYED, ...NEXT_HOPS]));
    expect(inCompose).toEqual(local);
    expect(composeEnv(agent)).toHaveProperty(AGENT_ENV.outboundProxy);
    if (!kind) return;
    const inKind = withoutNames(names(kindEnv(agent)), new Set([...ONLY_DEPLOYED, ...NEXT_HOPS, 'TMPDIR']));
    expect(inKind).toEqual(local);
    expect(kindEnv(agent)).toHaveProperty(AGENT_ENV.peers);
    // Nothing of the local-only set leaks into a pod (a pod token or bootstrap token there would be a secret with no use).
    for (const name of [AGENT_ENV.podToken, AGENT_ENV.bootstrapToken]) {
      expect(composeEnv(agent)).not.toHaveProperty(name);
      expect(kindEnv(agent)).not.toHaveProperty(name);
    }
  });

  it.each(agents)('%s: the same KMS keys (the workflow key, and its actor’s asset key where it has one)', (agent) => {
    const local = localEnv(agent);
    const expected = keyKinds(local[KMS_ENV.allowedKeyIds], LOCAL_KEYS);
    expect(expected).toContain('workflow key');
    const c = composeEnv(agent);
    expect(keyKinds(c[KMS_ENV.allowedKeyIds], ALIAS_KEYS)).toEqual(expected);
    expect(keyKinds(c[KMS_ENV.keyId], ALIAS_KEYS)).toEqual(keyKinds(local[KMS_ENV.keyId], LOCAL_KEYS));
    expect(c[KMS_ENV.assetKeyId] && keyKinds(c[KMS_ENV.assetKeyId], ALIAS_KEYS)).toEqual(local[KMS_ENV.assetKeyId] && keyKinds(local[KMS_ENV.assetKeyId], LOCAL_KEYS));
    // Its own credentials: Compose reads them from the agent's own env file.
    expect(compose.services[podServices(agent).app].env_file).toEqual([`./.reelmesh/certs/${agent}/kms.env`]);
    if (!kind) return;
    const k = kindEnv(agent);
    expect(keyKinds(k[KMS_ENV.allowedKeyIds] as string, ALIAS_KEYS)).toEqual(expected);
    expect(k[KMS_ENV.assetKeyId] && keyKinds(k[KMS_ENV.assetKeyId] as string, ALIAS_KEYS)).toEqual(local[KMS_ENV.assetKeyId] && keyKinds(local[KMS_ENV.assetKeyId], LOCAL_KEYS));
    for (const secret of [KMS_ENV.accessKeyId, KMS_ENV.secretAccessKey]) {
      expect(k[secret]).toMatchObject({ from: 'secret', name: `${agent}-kms-credentials` });
    }
  });

  it.each(agents)('%s: a signing identity and the audit ledger from the owner’s control plane, known by mesh identity', (agent) => {
    expect(localEnv(agent)[AGENT_ENV.controlPlane]).toBeTruthy();
    const c = composeEnv(agent);
    // Compose: the pod's own Envoy listener that carries calls to the control plane's pod over mTLS.
    expect(c[AGENT_ENV.controlPlane]).toBe(COMPOSE_CONTROL_PLANE_URL);
    expect(c[AGENT_ENV.auditUrl]).toBe(COMPOSE_CONTROL_PLANE_URL);
    expect(composeControlPlaneArgs(wf)).toContain('--mesh-identity');
    if (!kind) return;
    const k = kindEnv(agent);
    expect(k[AGENT_ENV.controlPlane]).toBe(controlPlaneUrl(topology));
    expect(k[AGENT_ENV.auditUrl]).toBe(controlPlaneUrl(topology));
    expect(podSpecOf(deploymentOf(kind, 'control-plane', owner.actor)).containers[0].args).toEqual(controlPlaneArgs(topology));
    expect(controlPlaneArgs(topology)).toContain('--mesh-identity');
  });

  it.each(agents)('%s: its identity is the workflow’s SPIFFE id on every target', (agent) => {
    const placement = wf.agents.find((a) => a.name === agent)!;
    const id = formatSpiffeId({ trustDomain: wf.metadata.trustDomain, actor: placement.actor, agent });
    // Compose: what its Envoy presents (the SAN its peers' Envoys pin) is its certificate's; its next hops are pinned by their ids.
    const envoy = rendered(envoyConfigPath(agent));
    for (const hop of topology.agent(agent).nextHops) {
      const hopPlacement = wf.agents.find((a) => a.name === hop)!;
      expect(envoy).toContain(formatSpiffeId({ trustDomain: wf.metadata.trustDomain, actor: hopPlacement.actor, agent: hop }));
    }
    for (const upstream of wf.agents.filter((a) => topology.agent(a.name).nextHops.includes(agent))) {
      expect(rendered(envoyConfigPath(upstream.name))).toContain(id);
    }
    if (!kind) return;
    // Kubernetes: Istio's identity of the pod is its ServiceAccount in its namespace: the same agent and actor.
    expect(workloadSpiffeId(deploymentOf(kind, agent, topology.agent(agent).namespace), wf.metadata.trustDomain)).toBe(id);
  });

  it.each(agents)('%s: its app mounts no key; its Envoy only its own TLS key', (agent) => {
    const services = podServices(agent);
    const keys = (service: string) => certsFilesSeenBy(compose.services[service], certsDir).filter((f) => /key\.pem$/.test(f));
    expect(keys(services.app)).toEqual([]);
    expect(keys(services.opa)).toEqual([]);
    for (const key of keys(services.envoy)) expect(key.startsWith(`${agent}/`)).toBe(true);
    expect(keys(services.envoy).length).toBeGreaterThan(0);
    if (!kind) return;
    const deployment = deploymentOf(kind, agent, topology.agent(agent).namespace);
    expect(mountedSources(deployment, AGENT_CONTAINER).filter((m) => m.kind === 'secret')).toEqual([]);
  });
});

describe('policy wiring and failure statuses agree', () => {
  it('every pod asks its own OPA, which loads only the owner’s signed bundle, in Compose and Kubernetes alike', () => {
    for (const agent of agents) {
      const opa = compose.services[podServices(agent).opa].command as string[];
      expect(opa).toEqual(expect.arrayContaining(['--verification-key-id=owner', '--signing-alg=ES256']));
      if (!kind) continue;
      const pod = podSpecOf(deploymentOf(kind, agent, topology.agent(agent).namespace));
      const sidecar = (pod.initContainers ?? []).find((c) => c.name === 'opa-envoy');
      expect(sidecar?.args?.filter((a) => a.startsWith('--verification-key-id') || a.startsWith('--signing-alg'))).toEqual(
        opa.filter((a) => a.startsWith('--verification-key-id') || a.startsWith('--signing-alg')),
      );
    }
  });

  it('an OPA that cannot answer is the local proxy’s 503 everywhere, never an allow', () => {
    expect(POLICY_STATUS.unavailable).toBe(503);
    for (const agent of agents) {
      const envoy = parse(rendered(envoyConfigPath(agent)));
      const authz = JSON.stringify(envoy).match(/"failure_mode_allow":(true|false)/g) ?? [];
      expect(authz.length).toBeGreaterThan(0);
      expect(new Set(authz)).toEqual(new Set(['"failure_mode_allow":false']));
      expect(JSON.stringify(envoy)).toContain('"status_on_error":{"code":"ServiceUnavailable"}');
    }
    const operator = rendered('istio/install/istio-operator-reelmesh.yaml');
    expect(operator).toMatch(/failOpen: false/);
    expect(operator).toMatch(new RegExp(`statusOnError: "${POLICY_STATUS.unavailable}"`));
  });

  it('every OPA ships its decision log to the same ledger the apps report to', () => {
    const composeOpa = parse(rendered(OPA_CONFIG_PATH)) as { services: Record<string, { url: string }>; decision_logs: { service: string } };
    expect(composeOpa.services[composeOpa.decision_logs.service].url).toBe(COMPOSE_CONTROL_PLANE_URL);
    if (!kind) return;
    for (const ns of new Set(wf.agents.map((a) => topology.agent(a.name).namespace))) {
      const map = kind.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === ns && o.metadata.name.startsWith('opa-config')) as RenderedObject & { data: Record<string, string> };
      const config = parse(Object.values(map.data)[0]) as typeof composeOpa;
      expect(config.services[config.decision_logs.service].url).toBe(controlPlaneUrl(topology));
    }
  });
});
