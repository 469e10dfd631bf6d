// How each workload of an actor namespace names its KMS keys, per target, as the `kms-config`
// ConfigMap of that namespace: `endpoint`, `region`, and per workload `<name>.keyId`,
// `<name>.allowedKeyIds` (comma-separated) and `<name>.assetKeyId`. The Deployments read them with
// configMapKeyRef, so an overlay changes how keys are named (aliases on kind, key ARNs in the
// multi-cluster overlay) by merging this ConfigMap, without touching the pods.
import { agentKmsKeys, type KmsKeyRefs } from '@reelmesh/agent-kit';
import { assetKeyAlias, workflowKeyAlias } from '@reelmesh/kms-local';
import { ownerOf, type Workflow } from '@reelmesh/workflow';
import { CONTROL_PLANE_NAME, KMS_REGION } from '../settings';
import type { Topology } from '../topology';

export const KMS_CONFIGMAP = 'kms-config';

/** kind (kms-local): aliases, which kms-local provisions from the workflow and resolves itself. */
export function aliasKeyRefs(wf: Workflow): KmsKeyRefs {
  return { workflowKey: workflowKeyAlias(ownerOf(wf).actor), assetKey: assetKeyAlias };
}

/**
 * Multi-cluster (AWS KMS, one account per actor): key ARNs. An alias is resolved only in the
 * caller's own account, so a contractor's pod cannot name the owner's workflow key by alias
 * (AWS KMS developer guide, "Learn how to use aliases in your applications": a key in another
 * account needs its key ARN or alias ARN). The account ids and key ids are placeholders the
 * operator replaces (docs/deploy.md, "Multi-cluster").
 */
export function keyArnRefs(wf: Workflow): KmsKeyRefs {
  const arn = (actor: string, key: string) => `arn:aws:kms:${KMS_REGION}:${placeholder(actor)}_ACCOUNT_ID:key/${placeholder(actor)}_${key}_KEY_ID`;
  return { workflowKey: arn(ownerOf(wf).actor, 'WORKFLOW'), assetKey: (actor) => arn(actor, 'ASSETS') };
}

const placeholder = (actor: string) => actor.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** The ConfigMap key of one KMS setting of one workload. */
export const kmsKey = (workload: string, setting: 'keyId' | 'allowedKeyIds' | 'assetKeyId') => `${workload}.${setting}`;


/**
 * The key settings of every workload of one namespace, as ConfigMap literals: each agent's from
 * agentKmsKeys (the one rule, shared with the local runtime and Compose), and in the owner's
 * namespace the control plane's (its ledger seals under the workflow key and trusts only it).
 */
export function kmsKeyLiterals(topology: Topology, namespace: string, refs: KmsKeyRefs): string[] {
  const wf = topology.workflow;
  const ns = topology.namespaces.find((n) => n.name === namespace);
  if (!ns) throw new Error(`no namespace ${namespace} in workflow ${wf.metadata.id}`);
  const literals: string[] = [];
  for (const agent of ns.agents) {
    const keys = agentKmsKeys(wf, agent.name, refs);
    literals.push(`${kmsKey(agent.name, 'keyId')}=${keys.keyId}`, `${kmsKey(agent.name, 'allowedKeyIds')}=${keys.allowedKeyIds.join(',')}`);
    if (keys.assetKeyId) literals.push(`${kmsKey(agent.name, 'assetKeyId')}=${keys.assetKeyId}`);
  }
  if (ownerOf(wf).actor === namespace) {
    literals.push(`${kmsKey(CONTROL_PLANE_NAME, 'keyId')}=${refs.workflowKey}`, `${kmsKey(CONTROL_PLANE_NAME, 'allowedKeyIds')}=${refs.workflowKey}`);
  }
  return literals;
}

/** Whether agentKmsKeys gives this agent an asset key (the same on every target). */
export function hasAssetKey(wf: Workflow, agent: string): boolean {
  return agentKmsKeys(wf, agent, aliasKeyRefs(wf)).assetKeyId !== undefined;
}
