// Every rendered manifest (kubectl kustomize of the base, each overlay and istio/) validates against
// the kubernetes-models / @kubernetes-models/istio schemas, and carries the hardening we promise.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { PeerAuthenticationV1 } from './test-support';
import { ServiceEntry, Sidecar } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import { spiffeId } from '@reelmesh/workflow';
import { POLICY_BUNDLE_CONFIGMAP, POLICY_KEY_CONFIGMAP } from './k8s/agent-manifests';
import { kubectlMissing, kustomize, parseYamlDocs, REPO_ROOT, workflow, type K8sObject } from './test-support';
import { CONTROL_PLANE_NAME, LONGEST_JOB_SECONDS, PATH_NORMALIZATION } from './settings';
import { ownerOf } from '@reelmesh/workflow';

const OWNER_PUBLISHED = [POLICY_BUNDLE_CONFIGMAP, POLICY_KEY_CONFIGMAP];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'security.istio.io/v1/AuthorizationPolicy': AuthorizationPolicy,
  'security.istio.io/v1/PeerAuthentication': PeerAuthenticationV1,
  'networking.istio.io/v1beta1/Sidecar': Sidecar,
  'networking.istio.io/v1beta1/ServiceEntry': ServiceEntry,
};

const wf = workflow();
const actors = wf.actors.map((actor) => actor.name);
const TARGETS = ['k8s/base', 'k8s/overlays/kind', 'istio', ...actors.map((actor) => `k8s/overlays/multi-cluster/${actor}`)];
const missing = kubectlMissing();
if (missing) console.warn(`\n*** libs/deploy: ${missing} ***\n`);

function validateAll(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    const id = `${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
    if (!Model) problems.push(`${id}: no schema for ${object.apiVersion} ${object.kind}`);
    else {
      try {
        new Model(object).validate();
      } catch (error) {
        problems.push(`${id}: ${(error as Error).message}`);
      }
    }
  }
  return problems;
}

describe.skipIf(Boolean(missing))('rendered manifests', () => {
  const rendered = new Map(TARGETS.map((target) => [target, kustomize(target)]));

  it.each(TARGETS)('%s validates against the Kubernetes and Istio schemas', (target) => {
    const objects = rendered.get(target)!;
    expect(objects.length).toBeGreaterThan(0);
    expect(validateAll(objects)).toEqual([]);
  });

  it('the schema check really rejects a broken manifest', () => {
    const deployment = rendered.get('k8s/base')!.find((object) => object.kind === 'Deployment')!;
    const broken = structuredClone(deployment) as K8sObject & { spec: { replicas: unknown } };
    broken.spec.replicas = 'one';
    expect(validateAll([broken])).toHaveLength(1);
    expect(validateAll([{ ...deployment, kind: 'Mystery' }])[0]).toMatch(/no schema/);
  });

  it('the kind overlay holds every agent once, named the same everywhere, in its actor namespace', () => {
    const objects = rendered.get('k8s/overlays/kind')!;
    for (const agent of wf.agents) {
      for (const kind of ['Deployment', 'Service', 'ServiceAccount']) {
        const found = objects.filter((o) => o.kind === kind && o.metadata.name === agent.name);
        expect(found.map((o) => o.metadata.namespace), `${kind} ${agent.name}`).toEqual([agent.actor]);
      }
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === agent.name)!;
      const pod = (deployment.spec as { template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string } } }).template;
      expect(pod.metadata.labels.app).toBe(agent.name);
      expect(pod.spec.serviceAccountName).toBe(agent.name);
    }
  });

  it('each multi-cluster overlay holds exactly its own actor (and the owner its control plane) and points at AWS KMS', () => {
    for (const actor of actors) {
      const objects = rendered.get(`k8s/overlays/multi-cluster/${actor}`)!;
      const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort();
      const own = wf.agents.filter((agent) => agent.actor === actor).map((agent) => agent.name);
      expect(deployments).toEqual([...own, ...(actor === ownerOf(wf).actor ? [CONTROL_PLANE_NAME] : [])].sort());
      const kms = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('kms-config'))!;
      expect((kms as unknown as { data: Record<string, string> }).data.endpoint).toMatch(/^https:\/\/kms\.[a-z0-9-]+\.amazonaws\.com$/);
      expect(objects.some((o) => o.kind === 'ServiceEntry' && o.metadata.name === 'aws-kms')).toBe(true);
    }
  });

  it.each(TARGETS.filter((target) => target.startsWith('k8s')))('%s: pods are hardened, pinned and wired to existing ConfigMaps', (target) => {
    const objects = rendered.get(target)!;
    const configMaps = new Set(objects.filter((o) => o.kind === 'ConfigMap').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
      const ns = deployment.metadata.namespace;
      const template = (deployment.spec as { template: { metadata: { annotations: Record<string, string> }; spec: PodSpec } }).template;
      const pod = template.spec;
      expect(template.metadata.annotations['proxy.istio.io/config']).toBe('{"holdApplicationUntilProxyStarts": true}');
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(LONGEST_JOB_SECONDS);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${deployment.metadata.name}/${container.name}`;
        expect(container.securityContext, where).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(container.resources?.limits?.memory, where).toMatch(/^\d+(Mi|Gi)$/);
        expect(container.image, where).toMatch(/^[a-z0-9./-]+:[0-9A-Za-z][\w.-]*(@sha256:[0-9a-f]{64})?$/);
        expect(container.image, where).not.toMatch(/:latest\b/);
        for (const env of container.env ?? []) {
          const ref = env.valueFrom?.configMapKeyRef;
          if (!ref) continue;
          expect(configMaps.has(`${ns}/${ref.name}`), `${where} env ${env.name} -> ${ref.name}`).toBe(true);
          const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === ns && o.metadata.name === ref.name) as unknown as { data: Record<string, string> };
          expect(cm.data[ref.key], `${where} env ${env.name} -> ${ref.name}/${ref.key}`).toBeDefined();
        }
      }
      for (const volume of pod.volumes ?? []) {
        // The owner's signed bundle and key are published at deploy time, never generated.
        if (volume.configMap && !OWNER_PUBLISHED.includes(volume.configMap.name)) {
          expect(configMaps.has(`${ns}/${volume.configMap.name}`), volume.configMap.name).toBe(true);
        }
      }
      if (wf.agents.some((agent) => agent.name === deployment.metadata.name && agent.actor === ns)) {
        // A native sidecar: an init container that keeps running (restartPolicy Always).
        const opa = (pod.initContainers ?? []).find((c) => c.name === 'opa-envoy')!;
        expect(opa.restartPolicy).toBe('Always');
        expect(opa.image).toMatch(/^openpolicyagent\/opa:\d+\.\d+\.\d+-envoy/);
        expect(opa.readinessProbe?.httpGet?.path).toBe('/health?plugins');
        // Only the owner's signed bundle: OPA verifies it (ES256, key id owner) before loading it.
        expect(opa.args).toEqual(expect.arrayContaining([
          '--verification-key=/policy-key/owner-bundle.pub.pem', '--verification-key-id=owner', '--signing-alg=ES256', '--bundle', '/policy-bundle/reelmesh.tar.gz',
        ]));
        expect((opa.args ?? []).join(' ')).not.toMatch(/data\.json|\.rego/);
        expect(pod.volumes?.filter((v) => v.configMap).map((v) => v.configMap!.name.replace(/^opa-config-[a-z0-9]+$/, 'opa-config')).sort()).toEqual(['opa-config', ...OWNER_PUBLISHED].sort());
      }
    }
    for (const service of objects.filter((o) => o.kind === 'Service')) {
      for (const port of (service.spec as { ports: Array<{ name: string }> }).ports) expect(port.name).toMatch(/^(http|grpc|tls)-/);
    }
  });

  it("the OPA sidecar config asks envoy_ext_authz_grpc on the pod loopback 127.0.0.1:9191 and ships masked decision logs to the owner's control plane", () => {
    const cms = rendered.get('k8s/overlays/kind')!.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('opa-config'));
    expect(new Set(cms.map((cm) => cm.metadata.namespace))).toEqual(new Set(actors));
    for (const cm of cms) {
      const config = parseYamlDocs((cm as unknown as { data: Record<string, string> }).data['config.yaml'])[0] as unknown as {
        services: Record<string, { url: string }>;
        plugins: { envoy_ext_authz_grpc: { addr: string; path: string } };
        decision_logs: { service: string; mask_decision?: string };
      };
      expect(config.plugins.envoy_ext_authz_grpc).toMatchObject({ addr: '127.0.0.1:9191', path: 'reelmesh/authz/allow' });
      // The control plane's Service in the owner's namespace (istio-proxy originates mTLS to it).
      expect(config.services[config.decision_logs.service].url).toBe(`http://${CONTROL_PLANE_NAME}.${ownerOf(wf).actor}.svc.cluster.local:8090`);
      expect(config.decision_logs.mask_decision).toBeDefined();
    }
  });
});

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; valueFrom?: { configMapKeyRef?: { name: string; key: string } } }>;
  resources?: { limits?: { memory?: string } };
  securityContext?: unknown;
  readinessProbe?: { httpGet?: { path: string } };
  restartPolicy?: string;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: unknown;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Array<{ configMap?: { name: string } }>;
}

describe('mesh install config', () => {
  const [operator] = parseYamlDocs(readFileSync(`${REPO_ROOT}istio/install/istio-operator-reelmesh.yaml`, 'utf8'));

  it('is a valid IstioOperator whose trust domain is the workflow trust domain', () => {
    expect(() => new IstioOperator(operator as never).validate()).not.toThrow();
    const mesh = (operator.spec as { meshConfig: { trustDomain: string } }).meshConfig;
    expect(mesh.trustDomain).toBe(wf.metadata.trustDomain);
    expect(spiffeId(wf, 'owner')).toBe(`spiffe://${mesh.trustDomain}/ns/owner/sa/owner`);
  });

  it('normalises paths before policy: DECODE_AND_MERGE_SLASHES, the semantics of Compose and the local proxy', () => {
    const mesh = (operator.spec as { meshConfig: { pathNormalization?: { normalization?: string } } }).meshConfig;
    expect(mesh.pathNormalization).toEqual({ normalization: 'DECODE_AND_MERGE_SLASHES' });
    expect(PATH_NORMALIZATION).toBe('DECODE_AND_MERGE_SLASHES');
  });

  it('declares the in-pod OPA provider: gRPC on 9191 with a timeout, failing closed', () => {
    const mesh = (operator.spec as { meshConfig: { extensionProviders: Array<{ name: string; envoyExtAuthzGrpc: Record<string, unknown> }> } }).meshConfig;
    const provider = mesh.extensionProviders.find((p) => p.name === 'reelmesh-opa')!;
    expect(provider.envoyExtAuthzGrpc).toMatchObject({ service: 'opa-ext-authz.local', port: 9191, failOpen: false });
    expect(provider.envoyExtAuthzGrpc.timeout).toMatch(/^\d+(ms|s)$/);
  });
});
