// The owner's control plane, the agents' security environment, the multi-cluster overlay's KMS
// naming and credentials, and the deploy-time objects (k8s/published), checked on the rendered
// kustomizations. Expectations come from the workflow and the KMS's own key names.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMS_ENV } from '@reelmesh/envelope';
import { assetKeyAlias, workflowKeyAlias } from '@reelmesh/kms-local';
import { ownerOf } from '@reelmesh/workflow';
import { issueComposeCerts } from '../certs';
import { CONTROL_PLANE_NAME, CONTROL_PLANE_PORT, DATA_DIR, KMS_NAMESPACE, KMS_REGION } from '../settings';
import { kubectlMissing, kustomize, parseYamlDocs, REPO_ROOT, workflow, type K8sObject } from '../test-support';
import {
  containerEnv,
  containerOf,
  deploymentOf,
  mountedSources,
  podSpecOf,
  referencedObjects,
  workloadSpiffeId,
  type RenderedObject,
} from './inspect';

const wf = workflow();
const owner = ownerOf(wf).actor;
const actors = wf.actors.map((actor) => actor.name);
const controlPlaneUrl = `http://${CONTROL_PLANE_NAME}.${owner}.svc.cluster.local:${CONTROL_PLANE_PORT}`;
const missing = kubectlMissing();
const objects = (list: K8sObject[]) => list as unknown as RenderedObject[];
const renders = new Map<string, RenderedObject[]>();
/** `kubectl kustomize` of a committed folder, once per folder (the objects are only read). */
const render = (dir: string) => renders.get(dir) ?? renders.set(dir, objects(kustomize(dir))).get(dir)!;
/** The KMS-using workloads of an actor: its agents, and in the owner's namespace the control plane. */
const kmsWorkloads = (actor: string) => [
  ...wf.agents.filter((agent) => agent.actor === actor).map((agent) => ({ name: agent.name, container: 'agent' })),
  ...(actor === owner ? [{ name: CONTROL_PLANE_NAME, container: CONTROL_PLANE_NAME }] : []),
];

describe.skipIf(Boolean(missing))('the owner control plane on kind', () => {
  const kind = render('k8s/overlays/kind');
  const deployment = deploymentOf(kind, CONTROL_PLANE_NAME, owner);
  const container = containerOf(deployment, CONTROL_PLANE_NAME);
  const args = container.args ?? [];
  const arg = (flag: string) => args[args.indexOf(flag) + 1];

  it("runs once, in the owner's namespace, as its own ServiceAccount, with istio-proxy as a native sidecar", () => {
    const spec = deployment.spec as { replicas: number; strategy: { type: string }; template: { metadata: { annotations: Record<string, string> } } };
    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    expect(spec.template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('true');
    expect(workloadSpiffeId(deployment, wf.metadata.trustDomain)).toBe(`spiffe://${wf.metadata.trustDomain}/ns/${owner}/sa/${CONTROL_PLANE_NAME}`);
    const account = kind.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name === CONTROL_PLANE_NAME);
    expect(account.map((o) => o.metadata.namespace)).toEqual([owner]);
  });

  it('is a Service on an http- port (Istio then sets x-forwarded-client-cert) and listens behind istio-proxy', () => {
    const service = kind.find((o) => o.kind === 'Service' && o.metadata.name === CONTROL_PLANE_NAME && o.metadata.namespace === owner)!;
    const ports = (service.spec as { ports: Array<{ name: string; port: number }> }).ports;
    expect(ports).toEqual([expect.objectContaining({ name: expect.stringMatching(/^http-/), port: CONTROL_PLANE_PORT })]);
    expect(arg('--listen')).toBe(`0.0.0.0:${CONTROL_PLANE_PORT}`);
    expect(args).toContain('--mesh-identity');
    expect(arg('--trust-domain')).toBe(wf.metadata.trustDomain);
    expect((container as { readinessProbe?: { httpGet?: { path: string } } }).readinessProbe?.httpGet?.path).toBe('/health');
  });

  it('issues from the CA of `reelmesh certs`, mounted read-only from a Secret made at deploy time', () => {
    const mounts = mountedSources(deployment, CONTROL_PLANE_NAME);
    for (const flag of ['--ca-cert', '--ca-key']) {
      const file = arg(flag);
      const mount = mounts.find((m) => file.startsWith(`${m.mountPath}/`));
      expect(mount, flag).toMatchObject({ kind: 'secret', readOnly: true });
      // Made at deploy time (k8s/published), never rendered from git.
      expect(kind.some((o) => o.kind === 'Secret' && o.metadata.name === mount!.name)).toBe(false);
    }
  });

  it("keeps the owner's audit ledger and its state on its own claim, sealed with the ledger's KMS principal", () => {
    expect(arg('--audit-workflow')).toBe(wf.metadata.id);
    expect(arg('--audit-owner-actor')).toBe(owner);
    const mounts = mountedSources(deployment, CONTROL_PLANE_NAME);
    for (const flag of ['--audit-dir', '--dir']) {
      const mount = mounts.find((m) => arg(flag).startsWith(`${m.mountPath}/`));
      expect(mount, flag).toMatchObject({ kind: 'persistentVolumeClaim', readOnly: false });
    }
    const env = containerEnv(kind, deployment, CONTROL_PLANE_NAME, { resolveConfigMaps: true });
    expect(env[KMS_ENV.keyId]).toBe(workflowKeyAlias(owner));
    expect(env[KMS_ENV.allowedKeyIds]).toBe(workflowKeyAlias(owner));
    expect(env[KMS_ENV.accessKeyId]).toEqual({ from: 'secret', name: `${CONTROL_PLANE_NAME}-kms-credentials`, key: KMS_ENV.accessKeyId });
    // The ledger's principal is provisioned with the owner's keys by kms-local.
    const kms = deploymentOf(kind, 'kms-local', KMS_NAMESPACE);
    expect(containerEnv(kind, kms, 'kms-local').REELMESH_KMS_PLATFORM_AGENTS).toBe(`audit-ledger:${owner}`);
  });
});

describe.skipIf(Boolean(missing))("the agents' security environment on kind", () => {
  const kind = render('k8s/overlays/kind');

  it.each(wf.agents.map((agent) => [agent.name, agent.actor]))('%s: signing identity and audit from the control plane by mesh identity; every KMS setting of the local runtime', (name, actor) => {
    const deployment = deploymentOf(kind, name, actor);
    expect(workloadSpiffeId(deployment, wf.metadata.trustDomain)).toBe(`spiffe://${wf.metadata.trustDomain}/ns/${actor}/sa/${name}`);
    const env = containerEnv(kind, deployment, 'agent', { resolveConfigMaps: true });
    expect(env.REELMESH_CONTROL_PLANE).toBe(controlPlaneUrl);
    expect(env.REELMESH_AUDIT_URL).toBe(controlPlaneUrl);
    // Known by its Istio identity: no token in the pod.
    expect(env.REELMESH_BOOTSTRAP_TOKEN).toBeUndefined();
    expect(env.REELMESH_AUDIT_TOKEN).toBeUndefined();
    const asset = actor === owner ? [] : [assetKeyAlias(actor)];
    expect(env[KMS_ENV.keyId]).toBe(workflowKeyAlias(owner));
    expect(String(env[KMS_ENV.allowedKeyIds]).split(',')).toEqual([workflowKeyAlias(owner), ...asset]);
    expect(env[KMS_ENV.assetKeyId]).toBe(asset[0]);
    expect(env[KMS_ENV.endpoint]).toBe(`http://kms-local.${KMS_NAMESPACE}.svc.cluster.local:8443`);
    for (const variable of [KMS_ENV.accessKeyId, KMS_ENV.secretAccessKey]) expect(env[variable]).toEqual({ from: 'secret', name: `${name}-kms-credentials`, key: variable });
  });
});

describe.skipIf(Boolean(missing))('the multi-cluster overlay: AWS KMS across accounts', () => {
  const arnOf = /^arn:aws:kms:[a-z0-9-]+:[A-Z0-9_]+:key\/[A-Za-z0-9_-]+$/;

  it.each(actors)('%s: keys named by key ARN (an alias names only a key of the caller\'s own account)', (actor) => {
    const rendered = render(`k8s/overlays/multi-cluster/${actor}`);
    for (const { name, container } of kmsWorkloads(actor)) {
      const env = containerEnv(rendered, deploymentOf(rendered, name, actor), container, { resolveConfigMaps: true });
      for (const variable of [KMS_ENV.keyId, KMS_ENV.allowedKeyIds, KMS_ENV.assetKeyId]) {
        for (const id of env[variable] === undefined ? [] : String(env[variable]).split(',')) expect(id, `${name} ${variable}`).toMatch(arnOf);
      }
      expect(env[KMS_ENV.keyId]).toBeDefined();
      // The owner's workflow key is in the owner's account, every contractor's asset key in its own.
      expect(String(env[KMS_ENV.keyId])).toContain(`:${owner.toUpperCase()}_ACCOUNT_ID:`);
      if (env[KMS_ENV.assetKeyId] !== undefined) expect(String(env[KMS_ENV.assetKeyId])).toContain(`:${actor.toUpperCase()}_ACCOUNT_ID:`);
    }
  });

  it.each(actors)('%s: no static access keys; each ServiceAccount has its own IAM role (IRSA)', (actor) => {
    const rendered = render(`k8s/overlays/multi-cluster/${actor}`);
    const roles = new Set<string>();
    for (const { name } of kmsWorkloads(actor)) {
      const deployment = deploymentOf(rendered, name, actor);
      for (const container of [...(podSpecOf(deployment).initContainers ?? []), ...podSpecOf(deployment).containers]) {
        const env = containerEnv(rendered, deployment, container.name);
        expect(env[KMS_ENV.accessKeyId], `${name}/${container.name}`).toBeUndefined();
        expect(env[KMS_ENV.secretAccessKey], `${name}/${container.name}`).toBeUndefined();
      }
      expect(referencedObjects(deployment).filter((ref) => ref.startsWith('Secret/') && ref.includes('kms'))).toEqual([]);
      const account = rendered.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === podSpecOf(deployment).serviceAccountName)!;
      const role = account.metadata.annotations?.['eks.amazonaws.com/role-arn'];
      expect(role, name).toMatch(/^arn:aws:iam::[A-Z0-9_]+:role\/[\w+=,.@-]+$/);
      roles.add(role!);
    }
    expect(roles.size).toBe(kmsWorkloads(actor).length);
    // The SDK exchanges the web-identity token at STS: reachable under REGISTRY_ONLY.
    const entry = rendered.find((o) => o.kind === 'ServiceEntry' && o.metadata.name === 'aws-kms')!;
    expect((entry.spec as { hosts: string[] }).hosts).toEqual(expect.arrayContaining([`kms.${KMS_REGION}.amazonaws.com`, `sts.${KMS_REGION}.amazonaws.com`]));
  });
});

/**
 * Following the docs: `reelmesh certs`, copy the generated k8s/published kustomization into its
 * folder, `kubectl apply -k` it. Every Secret and ConfigMap a pod refers to must then exist, in its
 * namespace, with every key the pod reads; otherwise pods hang in ContainerCreating.
 */
describe.skipIf(Boolean(missing))('deploy-time objects (k8s/published) complete what the overlays refer to', () => {
  let certs: string;
  beforeAll(async () => {
    certs = mkdtempSync(join(tmpdir(), 'reelmesh-published-'));
    await issueComposeCerts(wf, { outDir: certs, policyDir: `${REPO_ROOT}policies/reelmesh`, revision: 1 });
  }, 60_000);
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  // As the docs do it: the kustomization copied into the certs folder, rendered there.
  const publishedFor = (published: string) => {
    cpSync(`${REPO_ROOT}${published}/kustomization.yaml`, join(certs, 'kustomization.yaml'));
    return objects(parseYamlDocs(execFileSync('kubectl', ['kustomize', certs], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })));
  };

  const targets = [['k8s/overlays/kind', 'k8s/published/kind'], ...actors.map((actor) => [`k8s/overlays/multi-cluster/${actor}`, `k8s/published/multi-cluster/${actor}`])];

  it.each(targets)('%s + %s', (overlay, published) => {
    const rendered = render(overlay);
    const deployTime = publishedFor(published);
    const all = [...rendered, ...deployTime];
    const find = (kind: string, namespace: string | undefined, name: string) =>
      all.find((o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);
    for (const deployment of rendered.filter((o) => o.kind === 'Deployment')) {
      const ns = deployment.metadata.namespace;
      for (const ref of referencedObjects(deployment)) {
        const [kind, name] = ref.split('/');
        expect(find(kind, ns, name), `${ns}/${deployment.metadata.name} -> ${ref}`).toBeDefined();
      }
      const pod = podSpecOf(deployment);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const entry of container.env ?? []) {
          const keyRef = entry.valueFrom?.secretKeyRef ?? entry.valueFrom?.configMapKeyRef;
          if (!keyRef) continue;
          const object = find(entry.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap', ns, keyRef.name)!;
          expect({ ...object.data, ...object.binaryData }[keyRef.key], `${deployment.metadata.name}/${container.name} ${entry.name}`).toBeDefined();
        }
        // Every file argument under a Secret / ConfigMap mount names a key that object holds.
        for (const mount of mountedSources(deployment, container.name).filter((m) => m.kind === 'secret' || m.kind === 'configMap')) {
          const object = find(mount.kind === 'secret' ? 'Secret' : 'ConfigMap', ns, mount.name) ?? all.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === ns && o.metadata.name.startsWith(`${mount.name}-`))!;
          const keys = Object.keys({ ...object.data, ...object.binaryData });
          for (const file of (container.args ?? []).flatMap((a) => a.split('=')).filter((a) => a.startsWith(`${mount.mountPath}/`))) {
            expect(keys, `${deployment.metadata.name}/${container.name} ${file}`).toContain(file.slice(mount.mountPath.length + 1));
          }
        }
      }
    }
  });

  it("publishes no private key but the control plane's CA key, and that only to the owner's namespace", () => {
    for (const published of targets.map(([, p]) => p)) {
      for (const object of publishedFor(published)) {
        const values = Object.entries({ ...object.data }).map(([key, value]) => [key, Buffer.from(value, object.kind === 'Secret' ? 'base64' : 'utf8').toString()]);
        for (const [key, value] of values) {
          if (!value.includes('PRIVATE KEY')) continue;
          expect(`${object.metadata.namespace}/${object.metadata.name}/${key}`).toBe(`${owner}/control-plane-ca/ca-key.pem`);
        }
      }
    }
  });

  it('the control plane mounts its CA key, and no agent container mounts it', () => {
    const kind = render('k8s/overlays/kind');
    for (const agent of wf.agents) {
      const deployment = deploymentOf(kind, agent.name, agent.actor);
      for (const container of [...(podSpecOf(deployment).initContainers ?? []), ...podSpecOf(deployment).containers]) {
        expect(mountedSources(deployment, container.name).filter((m) => m.kind === 'secret'), `${agent.name}/${container.name}`).toEqual([]);
      }
    }
    const cp = deploymentOf(kind, CONTROL_PLANE_NAME, owner);
    expect(mountedSources(cp, CONTROL_PLANE_NAME).find((m) => m.mountPath === DATA_DIR)?.kind).toBe('persistentVolumeClaim');
  });
});
