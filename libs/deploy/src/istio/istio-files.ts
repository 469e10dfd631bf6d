// The istio/ tree: mesh-wide pieces, then one folder per namespace, files named
// <kind>-<target>-<variant>.yaml; istio/install holds the install-time mesh config.
import type { DeployFile } from '../generated-file';
import { yamlFile } from '../render-yaml';
import { ownerOf } from '@reelmesh/workflow';
import { CONTROL_PLANE_NAME, KMS_NAME, KMS_NAMESPACE } from '../settings';
import type { Topology } from '../topology';
import { istioOperator } from './istio-operator';
import {
  agentSidecar,
  allowNothingPolicy,
  allowPolicy,
  controlPlaneAllowPolicy,
  controlPlaneSidecar,
  extAuthzPolicy,
  kmsAllowPolicy,
  namespaceSidecar,
  opaServiceEntry,
  peerAuthenticationMeshStrict,
} from './istio-resources';

const KUSTOMIZATION = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };

export function istioFiles(topology: Topology): DeployFile[] {
  const files: DeployFile[] = [];
  const folder = (name: string, resources: Record<string, object>) => {
    for (const [file, doc] of Object.entries(resources)) files.push({ path: `istio/${name}/${file}`, content: yamlFile([doc]) });
    files.push({ path: `istio/${name}/kustomization.yaml`, content: yamlFile([{ ...KUSTOMIZATION, resources: Object.keys(resources) }]) });
  };

  files.push({
    path: 'istio/install/istio-operator-reelmesh.yaml',
    content: yamlFile([istioOperator(topology)], 'Install with: istioctl install -y -f istio/install/istio-operator-reelmesh.yaml'),
  });
  folder('mesh', {
    'peer-authentication-mesh-strict.yaml': peerAuthenticationMeshStrict(),
    'service-entry-opa-ext-authz-local.yaml': opaServiceEntry(),
  });
  folder('kms', {
    [`authorization-policy-${KMS_NAMESPACE}-allow-nothing.yaml`]: allowNothingPolicy(KMS_NAMESPACE),
    [`authorization-policy-${KMS_NAME}-allow.yaml`]: kmsAllowPolicy(topology),
    [`sidecar-${KMS_NAMESPACE}-default.yaml`]: namespaceSidecar(KMS_NAMESPACE),
  });
  for (const ns of topology.namespaces) {
    const resources: Record<string, object> = {
      [`authorization-policy-${ns.name}-allow-nothing.yaml`]: allowNothingPolicy(ns.name),
      [`sidecar-${ns.name}-default.yaml`]: namespaceSidecar(ns.name),
    };
    for (const agent of ns.agents) {
      resources[`authorization-policy-${agent.name}-ext-authz.yaml`] = extAuthzPolicy(agent);
      resources[`authorization-policy-${agent.name}-allow.yaml`] = allowPolicy(agent);
      resources[`sidecar-${agent.name}-egress.yaml`] = agentSidecar(topology, agent);
    }
    if (ns.name === ownerOf(topology.workflow).actor) {
      resources[`authorization-policy-${CONTROL_PLANE_NAME}-allow.yaml`] = controlPlaneAllowPolicy(topology);
      resources[`sidecar-${CONTROL_PLANE_NAME}-egress.yaml`] = controlPlaneSidecar(topology);
    }
    folder(ns.name, resources);
  }
  files.push({
    path: 'istio/kustomization.yaml',
    content: yamlFile([{ ...KUSTOMIZATION, resources: ['mesh', 'kms', ...topology.namespaces.map((ns) => ns.name)] }]),
  });
  return files;
}
