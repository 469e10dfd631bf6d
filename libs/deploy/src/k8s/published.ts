// What the owner publishes into a cluster at deploy time and git never holds: the signed policy
// bundle and its public key (ConfigMaps in every actor namespace), the control plane's CA (Secret),
// and on kind the local-KMS credentials (a Secret per workload, the principals file for kms-local).
// One way for the docs and tools/kind/deploy.sh alike, independent of our CLI: a kustomization that
// builds them from the files `reelmesh certs` writes, copied into that folder and applied with
// `kubectl apply -k <certs>` (kustomize reads files only below the kustomization's own folder).
// The file layout is certs.ts's CERTS_LAYOUT.
import { ownerOf } from '@reelmesh/workflow';
import { CERTS_LAYOUT } from '../certs';
import type { DeployFile } from '../generated-file';
import { yamlFile } from '../render-yaml';
import { KMS_NAMESPACE } from '../settings';
import type { Topology } from '../topology';
import { kmsSecretName, POLICY_BUNDLE_CONFIGMAP, POLICY_BUNDLE_FILE, POLICY_KEY_CONFIGMAP, POLICY_KEY_FILE } from './agent-manifests';
import { CA_CERT_FILE, CA_KEY_FILE } from '../control-plane-args';
import { CONTROL_PLANE_CA_SECRET } from './control-plane-manifests';
import { KMS_PRINCIPALS_SECRET } from './kms-manifests';
import { kmsWorkloads } from './multi-cluster';

export const PUBLISHED_DIR = 'k8s/published';

const KUSTOMIZATION = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };

/** The kustomization for one target: `kind` (every actor, local KMS) or one actor's own cluster (AWS KMS). */
export function publishedKustomization(topology: Topology, target: { kind: true } | { actor: string }): object {
  const owner = ownerOf(topology.workflow).actor;
  const namespaces = 'kind' in target ? topology.namespaces.map((ns) => ns.name) : [target.actor];
  const configMapGenerator = namespaces.flatMap((namespace) => [
    { name: POLICY_BUNDLE_CONFIGMAP, namespace, files: [`${POLICY_BUNDLE_FILE}=${CERTS_LAYOUT.policyBundle}`] },
    { name: POLICY_KEY_CONFIGMAP, namespace, files: [`${POLICY_KEY_FILE}=${CERTS_LAYOUT.policyPublicKey}`] },
  ]);
  const secretGenerator: object[] = [];
  if (namespaces.includes(owner)) {
    secretGenerator.push({ name: CONTROL_PLANE_CA_SECRET, namespace: owner, files: [`${CA_CERT_FILE}=${CERTS_LAYOUT.caCert}`, `${CA_KEY_FILE}=${CERTS_LAYOUT.caKey}`] });
  }
  if ('kind' in target) {
    for (const namespace of namespaces) {
      for (const { name } of kmsWorkloads(topology, namespace)) secretGenerator.push({ name: kmsSecretName(name), namespace, envs: [CERTS_LAYOUT.kmsEnv(name)] });
    }
    secretGenerator.push({ name: KMS_PRINCIPALS_SECRET, namespace: KMS_NAMESPACE, files: [`principals.json=${CERTS_LAYOUT.principals}`] });
  }
  return {
    ...KUSTOMIZATION,
    // The manifests name these objects exactly: no hash suffix.
    generatorOptions: { disableNameSuffixHash: true },
    configMapGenerator,
    secretGenerator,
  };
}

export function publishedFiles(topology: Topology): DeployFile[] {
  const note = (where: string) => `Copy into the \`reelmesh certs\` folder and apply it there: cp ${where}/kustomization.yaml .reelmesh/certs/ && kubectl apply -k .reelmesh/certs (docs/deploy.md).`;
  return [
    { path: `${PUBLISHED_DIR}/kind/kustomization.yaml`, content: yamlFile([publishedKustomization(topology, { kind: true })], note(`${PUBLISHED_DIR}/kind`)) },
    ...topology.namespaces.map((ns) => ({
      path: `${PUBLISHED_DIR}/multi-cluster/${ns.name}/kustomization.yaml`,
      content: yamlFile([publishedKustomization(topology, { actor: ns.name })], note(`${PUBLISHED_DIR}/multi-cluster/${ns.name}`)),
    })),
  ];
}
