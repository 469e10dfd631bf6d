// Reading rendered manifests (`kubectl kustomize` output, parsed) back per workload: a container's
// environment, what it mounts, and the identity its pod runs as. For specs, including a cross-
// target parity test against agentEnvironment and the Compose file.
import type { EnvSource } from '@reelmesh/agent-kit';
import { formatSpiffeId } from '@reelmesh/addressing';

/** The fields of a rendered object these helpers read. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}
export interface RenderedContainer {
  name: string;
  image?: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
export interface RenderedVolume {
  name: string;
  secret?: { secretName: string };
  configMap?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: object;
}
export interface RenderedPodSpec {
  serviceAccountName?: string;
  initContainers?: RenderedContainer[];
  containers: RenderedContainer[];
  volumes?: RenderedVolume[];
}

/** The Deployment `name` (in `namespace`, if given) of a rendered set; throws if absent or ambiguous. */
export function deploymentOf(objects: readonly RenderedObject[], name: string, namespace?: string): RenderedObject {
  const found = objects.filter((o) => o.kind === 'Deployment' && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (found.length !== 1) throw new Error(`expected one Deployment ${namespace ?? '*'}/${name}, found ${found.length}`);
  return found[0];
}

export function podSpecOf(deployment: RenderedObject): RenderedPodSpec {
  return (deployment.spec as { template: { spec: RenderedPodSpec } }).template.spec;
}

/** A container (or init/native-sidecar container) of a Deployment's pod by name. */
export function containerOf(deployment: RenderedObject, container: string): RenderedContainer {
  const pod = podSpecOf(deployment);
  const found = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === container);
  if (!found) throw new Error(`${deployment.metadata.name} has no container ${container}`);
  return found;
}

/** kustomize suffixes generated ConfigMaps with a content hash (`kms-config-7h2k…`); match either form. */
function configMapNamed(objects: readonly RenderedObject[], namespace: string | undefined, name: string): RenderedObject | undefined {
  return objects.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === namespace && o.metadata.name === name);
}

/**
 * A container's environment as agentEnvironment writes it: a literal, or a Secret / ConfigMap key
 * reference. With `resolveConfigMaps`, ConfigMap references are replaced by the value the rendered
 * ConfigMap holds (an error if it does not): what the pod will really see. Secret references stay
 * references (their values are made at deploy time).
 */
export function containerEnv(objects: readonly RenderedObject[], deployment: RenderedObject, container: string, options: { resolveConfigMaps?: boolean } = {}): Record<string, EnvSource> {
  const env: Record<string, EnvSource> = {};
  for (const entry of containerOf(deployment, container).env ?? []) {
    const secret = entry.valueFrom?.secretKeyRef;
    const config = entry.valueFrom?.configMapKeyRef;
    if (secret) env[entry.name] = { from: 'secret', name: secret.name, key: secret.key };
    else if (config && options.resolveConfigMaps) {
      const value = configMapNamed(objects, deployment.metadata.namespace, config.name)?.data?.[config.key];
      if (value === undefined) throw new Error(`${deployment.metadata.name}/${container} ${entry.name}: no key ${config.key} in ConfigMap ${config.name}`);
      env[entry.name] = value;
    } else if (config) env[entry.name] = { from: 'config', name: config.name.replace(/-[a-z0-9]{10}$/, ''), key: config.key };
    else env[entry.name] = entry.value ?? '';
  }
  return env;
}

export interface MountedSource {
  mountPath: string;
  readOnly: boolean;
  kind: 'secret' | 'configMap' | 'persistentVolumeClaim' | 'emptyDir' | 'other';
  /** The Secret, ConfigMap (hash suffix removed) or claim name; the volume's name for an emptyDir. */
  name: string;
}

/** What one container mounts, and from where. */
export function mountedSources(deployment: RenderedObject, container: string): MountedSource[] {
  const volumes = new Map((podSpecOf(deployment).volumes ?? []).map((v) => [v.name, v]));
  return (containerOf(deployment, container).volumeMounts ?? []).map((mount) => {
    const volume = volumes.get(mount.name);
    if (!volume) throw new Error(`${deployment.metadata.name}/${container} mounts unknown volume ${mount.name}`);
    const base = { mountPath: mount.mountPath, readOnly: mount.readOnly === true };
    if (volume.secret) return { ...base, kind: 'secret', name: volume.secret.secretName };
    if (volume.configMap) return { ...base, kind: 'configMap', name: volume.configMap.name.replace(/-[a-z0-9]{10}$/, '') };
    if (volume.persistentVolumeClaim) return { ...base, kind: 'persistentVolumeClaim', name: volume.persistentVolumeClaim.claimName };
    if (volume.emptyDir) return { ...base, kind: 'emptyDir', name: volume.name };
    return { ...base, kind: 'other', name: volume.name };
  });
}

/** Every Secret and ConfigMap a Deployment's pod refers to (volumes and env), as `kind/name` without hash suffix. */
export function referencedObjects(deployment: RenderedObject): string[] {
  const pod = podSpecOf(deployment);
  const refs = new Set<string>();
  for (const volume of pod.volumes ?? []) {
    if (volume.secret) refs.add(`Secret/${volume.secret.secretName}`);
    if (volume.configMap) refs.add(`ConfigMap/${volume.configMap.name}`);
  }
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    for (const entry of container.env ?? []) {
      if (entry.valueFrom?.secretKeyRef) refs.add(`Secret/${entry.valueFrom.secretKeyRef.name}`);
      if (entry.valueFrom?.configMapKeyRef) refs.add(`ConfigMap/${entry.valueFrom.configMapKeyRef.name}`);
    }
  }
  return [...refs].sort();
}

/** The SPIFFE id Istio gives the pod: its ServiceAccount in its namespace, in the mesh's trust domain. */
export function workloadSpiffeId(deployment: RenderedObject, trustDomain: string): string {
  const account = podSpecOf(deployment).serviceAccountName;
  if (!account || !deployment.metadata.namespace) throw new Error(`${deployment.metadata.name}: no ServiceAccount or namespace`);
  return formatSpiffeId({ trustDomain, actor: deployment.metadata.namespace, agent: account });
}
