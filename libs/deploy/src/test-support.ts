// Shared by the specs: the repo, the committed workflow, rendered kustomizations as objects.
import { execFileSync, spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { PeerAuthentication as PeerAuthenticationV1beta1 } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { loadWorkflow, REPO_ROOT } from '@reelmesh/workflow';

export { REPO_ROOT } from '@reelmesh/workflow';
export const workflow = () => loadWorkflow();

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Why kustomize tests cannot run here, or undefined when kubectl is available. */
export function kubectlMissing(): string | undefined {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return probe.error || probe.status !== 0
    ? 'kubectl not found: install it in CI (.ci/run: apt-get install -y kubectl, from the Kubernetes/Google Cloud apt repository) — manifest validation SKIPPED'
    : undefined;
}

export function kustomize(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', `${REPO_ROOT}${dir}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseYamlDocs(out);
}

export function parseYamlDocs(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors[0].message);
      return doc.toJS() as K8sObject | null;
    })
    .filter((doc): doc is K8sObject => doc !== null);
}

/**
 * PeerAuthentication is security.istio.io/v1 since Istio 1.22 with the v1beta1 spec unchanged, but
 * @kubernetes-models/istio (2.3.0) ships no v1 schema for it: validate the spec with the v1beta1 one.
 */
export class PeerAuthenticationV1 {
  constructor(private readonly data: K8sObject) {}
  validate(): void {
    if (this.data.apiVersion !== 'security.istio.io/v1') throw new Error(`expected security.istio.io/v1, got ${this.data.apiVersion}`);
    new PeerAuthenticationV1beta1({ ...this.data, apiVersion: 'security.istio.io/v1beta1' } as never).validate();
  }
}
