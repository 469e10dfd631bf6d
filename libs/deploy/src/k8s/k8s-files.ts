// The Kustomize tree under k8s/: a base per actor namespace (plus the local KMS and the shared
// OPA config), a `kind` overlay (one cluster), a `multi-cluster` overlay per actor, and under
// k8s/published/ the kustomizations that publish the deploy-time Secrets and ConfigMaps.
import { ownerOf } from '@reelmesh/workflow';
import type { DeployFile } from '../generated-file';
import { OPA_ENVOY_IMAGE, reelmeshImage, type ImageRef } from '../images';
import { opaConfig } from '../opa-config';
import { yamlFile } from '../render-yaml';
import { AWS_KMS_HOST, CONTROL_PLANE_NAME, KMS_NAME, KMS_NAMESPACE, KMS_REGION, LOCAL_KMS_ENDPOINT } from '../settings';
import type { Topology } from '../topology';
import { agentManifests, OPA_CONFIG_CONFIGMAP } from './agent-manifests';
import { controlPlaneManifests, controlPlaneUrl } from './control-plane-manifests';
import { aliasKeyRefs, keyArnRefs, KMS_CONFIGMAP, kmsKeyLiterals } from './kms-keys';
import { kmsManifests, namespace } from './kms-manifests';
import { AWS_STS_HOST, multiClusterPatches } from './multi-cluster';
import { publishedFiles } from './published';

const KUSTOMIZATION = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };

export function k8sFiles(topology: Topology): DeployFile[] {
  const files: DeployFile[] = [];
  const add = (path: string, content: string) => files.push({ path: `k8s/${path}`, content });
  const kustomization = (path: string, body: object, note?: string) => add(`${path}/kustomization.yaml`, yamlFile([{ ...KUSTOMIZATION, ...body }], note));
  const owner = ownerOf(topology.workflow).actor;

  // The OPA config, the same in every actor namespace: decision logs go to the owner's ledger. The
  // policy itself is not here: OPA loads only the owner's signed bundle, published at deploy time.
  add('base/shared/opa-config.yaml', yamlFile([opaConfig({ ledgerUrl: controlPlaneUrl(topology) })]));
  kustomization('base/shared', {
    configMapGenerator: [{ name: OPA_CONFIG_CONFIGMAP, files: ['config.yaml=opa-config.yaml'] }],
  }, 'The OPA config; included by every actor namespace.');

  for (const ns of topology.namespaces) {
    add(`base/${ns.name}/namespace.yaml`, yamlFile([namespace(ns.name)]));
    for (const agent of ns.agents) add(`base/${ns.name}/${agent.name}.yaml`, yamlFile(agentManifests(topology, agent)));
    const controlPlane = ns.name === owner ? [`${CONTROL_PLANE_NAME}.yaml`] : [];
    if (controlPlane.length > 0) add(`base/${ns.name}/${CONTROL_PLANE_NAME}.yaml`, yamlFile(controlPlaneManifests(topology)));
    kustomization(`base/${ns.name}`, {
      namespace: ns.name,
      resources: ['namespace.yaml', '../shared', ...ns.agents.map((agent) => `${agent.name}.yaml`), ...controlPlane],
      // The local KMS and the keys by alias (kms-local provisions them from the workflow).
      configMapGenerator: [
        { name: KMS_CONFIGMAP, literals: [`endpoint=${LOCAL_KMS_ENDPOINT}`, `region=${KMS_REGION}`, ...kmsKeyLiterals(topology, ns.name, aliasKeyRefs(topology.workflow))] },
      ],
    });
  }
  add('base/kms/namespace.yaml', yamlFile([namespace(KMS_NAMESPACE)]));
  add(`base/kms/${KMS_NAME}.yaml`, yamlFile(kmsManifests(topology.workflow)));
  kustomization('base/kms', { namespace: KMS_NAMESPACE, resources: ['namespace.yaml', `${KMS_NAME}.yaml`] });
  kustomization('base', { resources: ['kms', ...topology.namespaces.map((ns) => ns.name)] }, 'Every actor namespace in one cluster, plus the local KMS.');

  const images = imageOverrides(topology);
  kustomization('overlays/kind', { resources: ['../../base', '../../../istio'], images }, 'One kind cluster: every actor a namespace; local KMS; Istio resources.');

  // One cluster per actor: its namespace, the mesh-wide Istio pieces and its own policies; KMS is
  // AWS KMS, keys named by key ARN, credentials from IRSA (no static keys).
  add('overlays/multi-cluster/aws-kms/namespace.yaml', yamlFile([namespace(KMS_NAMESPACE)]));
  add('overlays/multi-cluster/aws-kms/service-entry-aws-kms-external.yaml', yamlFile([awsKmsServiceEntry()]));
  kustomization('overlays/multi-cluster/aws-kms', { resources: ['namespace.yaml', 'service-entry-aws-kms-external.yaml'] });
  for (const ns of topology.namespaces) {
    const patches = multiClusterPatches(topology, ns.name);
    for (const patch of patches) add(`overlays/multi-cluster/${ns.name}/${patch.file}`, yamlFile(patch.body));
    kustomization(`overlays/multi-cluster/${ns.name}`, {
      resources: [`../../../base/${ns.name}`, '../../../../istio/mesh', `../../../../istio/${ns.name}`, '../aws-kms'],
      configMapGenerator: [
        {
          name: KMS_CONFIGMAP,
          namespace: ns.name,
          behavior: 'merge',
          literals: [`endpoint=https://${AWS_KMS_HOST}`, ...kmsKeyLiterals(topology, ns.name, keyArnRefs(topology.workflow))],
        },
      ],
      patches: patches.map((patch) => ({ path: patch.file })),
      images,
    }, `The "${ns.name}" actor's own cluster. Replace the *_ACCOUNT_ID / *_KEY_ID placeholders (docs/deploy.md, "Multi-cluster").`);
  }
  files.push(...publishedFiles(topology));
  return files;
}

/** Tags pinned here; tools/kind/pin-digests.sh adds each image's digest at deploy time. */
function imageOverrides(topology: Topology): object[] {
  const ours = [...topology.apps, KMS_NAME, CONTROL_PLANE_NAME].map(reelmeshImage);
  return [...ours, OPA_ENVOY_IMAGE].map((image: ImageRef) => ({ name: image.name, newTag: image.tag }));
}

function awsKmsServiceEntry(): object {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name: 'aws-kms', namespace: KMS_NAMESPACE },
    spec: {
      // KMS, and STS: the SDK exchanges the IRSA web-identity token for credentials there.
      hosts: [AWS_KMS_HOST, AWS_STS_HOST],
      exportTo: ['*'],
      ports: [{ number: 443, name: 'tls-kms', protocol: 'TLS' }],
      resolution: 'DNS',
      location: 'MESH_EXTERNAL',
    },
  };
}
