// Static checks of the generated files (no cluster, no kubectl): OPA never phones home, Istio's
// security APIs are v1, every agent namespace has an allow-nothing policy beside the per-workload
// ones, and every namespace enforces a Pod Security level that its pods (and Istio's) can meet.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { parseYamlDocs, PeerAuthenticationV1, REPO_ROOT, workflow, type K8sObject } from './test-support';
import { topologyOf } from './topology';
import { ownerOf } from '@reelmesh/workflow';
import { ISTIO_MIN_VERSION, KMS_NAMESPACE } from './settings';

const wf = workflow();
const topology = topologyOf(wf);
const agentNamespaces = topology.namespaces.map((ns) => ns.name);
const read = (path: string) => readFileSync(`${REPO_ROOT}${path}`, 'utf8');
const docs = (path: string) => parseYamlDocs(read(path));

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(`${REPO_ROOT}${dir}`, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.yaml'))
    .map((entry) => `${entry.parentPath.slice(REPO_ROOT.length)}/${entry.name}`.replace(/\/\//g, '/'));
}

interface Container {
  name: string;
  args?: string[];
  volumeMounts?: Array<{ name: string; readOnly?: boolean }>;
  command?: string[];
  securityContext?: Record<string, unknown> & { capabilities?: { add?: string[]; drop?: string[] } };
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: Record<string, unknown>;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Array<Record<string, unknown>>;
}
const deployments = () =>
  yamlFilesUnder('k8s/base')
    .flatMap(docs)
    .filter((o) => o.kind === 'Deployment')
    .map((o) => ({ name: o.metadata.name, pod: (o.spec as { template: { spec: PodSpec } }).template.spec }));

describe('OPA does not phone home', () => {
  it.each(wf.agents.map((agent) => agent.name))('%s: Compose and Kubernetes OPA run with --skip-version-check', (agent) => {
    const [compose] = docs('docker-compose.yml') as unknown as Array<{ services: Record<string, { command: string[] }> }>;
    expect(compose.services[`${agent}-opa`].command).toContain('--skip-version-check');
    const placement = topology.agent(agent);
    const deployment = docs(`k8s/base/${placement.namespace}/${agent}.yaml`).find((o) => o.kind === 'Deployment')!;
    const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
    const opa = [...(pod.initContainers ?? []), ...pod.containers].filter((c) => (c.args ?? []).includes('run'));
    expect(opa.length).toBe(1);
    expect(opa[0].args).toContain('--skip-version-check');
  });
});

describe('Istio security APIs', () => {
  const istio = yamlFilesUnder('istio').flatMap((path) => docs(path).map((doc) => ({ path, doc })));

  it('every security.istio.io object is v1 and validates against the v1 schema', () => {
    const security = istio.filter(({ doc }) => doc.apiVersion?.startsWith('security.istio.io/'));
    expect(security.length).toBeGreaterThan(0);
    for (const { path, doc } of security) {
      expect(doc.apiVersion, path).toBe('security.istio.io/v1');
      const Model = doc.kind === 'AuthorizationPolicy' ? AuthorizationPolicy : PeerAuthenticationV1;
      expect(() => new Model(doc as never).validate(), path).not.toThrow();
    }
  });

  it(`the Istio the files need (>= ${ISTIO_MIN_VERSION}) is what install-istio.sh checks and docs/deploy.md states`, () => {
    expect(read('tools/kind/install-istio.sh')).toContain(`ISTIO_MIN_VERSION="${ISTIO_MIN_VERSION}"`);
    expect(read('docs/deploy.md')).toContain(`Istio >= ${ISTIO_MIN_VERSION}`);
  });

  it.each([...agentNamespaces, KMS_NAMESPACE])('%s: a namespace-wide allow-nothing policy beside the per-workload ALLOW policies', (ns) => {
    const folder = ns === KMS_NAMESPACE ? 'kms' : ns;
    const kustomization = docs(`istio/${folder}/kustomization.yaml`)[0] as unknown as { resources: string[] };
    const objects = kustomization.resources.flatMap((file) => docs(`istio/${folder}/${file}`)) as K8sObject[];
    const policies = objects.filter((o) => o.kind === 'AuthorizationPolicy' && o.metadata.namespace === ns);
    // Empty spec: no selector (the whole namespace), ALLOW (the default action), no rules (matches nothing).
    const allowNothing = policies.filter((o) => o.spec !== undefined && Object.keys(o.spec).length === 0);
    expect(allowNothing.length, ns).toBe(1);
    // ...beside one ALLOW per workload, with a selector, so the allow-nothing never is the only one.
    const perWorkload = policies.filter((o) => (o.spec as { action?: string; selector?: unknown }).action === 'ALLOW');
    // One per agent; the KMS's; and in the owner's namespace the control plane's.
    const agentsHere = ns === KMS_NAMESPACE ? 1 : topology.namespaces.find((n) => n.name === ns)!.agents.length + (ns === ownerOf(wf).actor ? 1 : 0);
    expect(perWorkload.length, ns).toBe(agentsHere);
    for (const policy of perWorkload) expect((policy.spec as { selector?: unknown }).selector, policy.metadata.name).toBeDefined();
  });
});

/** Capabilities the Pod Security `baseline` level lets a container add. */
const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

describe('Pod Security Admission', () => {
  const namespaces = yamlFilesUnder('k8s').flatMap(docs).filter((o) => o.kind === 'Namespace');
  const [operator] = docs('istio/install/istio-operator-reelmesh.yaml');

  it('every generated namespace (each agent namespace, the KMS) enforces baseline or restricted', () => {
    expect(new Set(namespaces.map((ns) => ns.metadata.name))).toEqual(new Set([...agentNamespaces, KMS_NAMESPACE]));
    for (const ns of namespaces) {
      expect(['baseline', 'restricted'], ns.metadata.name).toContain(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']);
    }
  });

  it("Istio's CNI plugin is on: istio-init's NET_ADMIN/NET_RAW is outside baseline (and restricted)", () => {
    expect((operator.spec as { components?: { cni?: { enabled?: boolean } } }).components?.cni?.enabled).toBe(true);
  });

  it('every generated pod meets baseline (and, our own containers, restricted: the warn/audit level)', () => {
    const pods = deployments();
    // Every agent, the local KMS and the owner's control plane.
    expect(pods.length).toBe(wf.agents.length + 2);
    for (const { name, pod } of pods) {
      expect(pod.hostNetwork ?? false, name).toBe(false);
      expect(pod.hostPID ?? false, name).toBe(false);
      expect(pod.hostIPC ?? false, name).toBe(false);
      for (const volume of pod.volumes ?? []) expect(volume.hostPath, `${name} ${String(volume.name)}`).toBeUndefined();
      expect(pod.securityContext?.runAsNonRoot, name).toBe(true);
      expect(pod.securityContext?.seccompProfile, name).toEqual({ type: 'RuntimeDefault' });
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const id = `${name}/${container.name}`;
        const sc = container.securityContext ?? {};
        expect(sc.privileged ?? false, id).toBe(false);
        for (const cap of sc.capabilities?.add ?? []) expect(BASELINE_CAPS.has(cap), `${id} adds ${cap}`).toBe(true);
        // restricted
        expect(sc.allowPrivilegeEscalation, id).toBe(false);
        expect(sc.capabilities?.drop, id).toEqual(['ALL']);
        expect(sc.runAsNonRoot, id).toBe(true);
      }
    }
  });
});

describe('volume ownership', () => {
  it('every pod that writes a claim gets it group-owned (fsGroup), so it can write whatever uid it runs as', () => {
    const writers = deployments().filter(({ pod }) => {
      const claims = new Set((pod.volumes ?? []).filter((v) => v.persistentVolumeClaim).map((v) => v.name));
      return [...(pod.initContainers ?? []), ...pod.containers].some((c) => (c.volumeMounts ?? []).some((m) => claims.has(m.name) && !m.readOnly));
    });
    // Every agent, the local KMS and the control plane keep state on a claim.
    expect(writers.map((w) => w.name).sort()).toEqual([...wf.agents.map((a) => a.name), 'control-plane', 'kms-local'].sort());
    for (const { name, pod } of writers) expect(pod.securityContext?.fsGroup, name).toEqual(expect.any(Number));
  });

  it("kms-local's private copy of its principals file is made by the uid that reads it (the file is 0600)", () => {
    const { pod } = deployments().find((d) => d.name === 'kms-local')!;
    const copier = (pod.initContainers ?? []).find((c) => (c.command ?? []).join(' ').includes('install -m 0600'))!;
    expect(copier).toBeDefined();
    expect(copier.securityContext?.runAsUser).toBe(pod.containers[0].securityContext?.runAsUser);
  });
});
