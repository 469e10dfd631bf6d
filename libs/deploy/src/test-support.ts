// Shared by the specs: the repo, the committed workflow, rendered kustomizations as objects.
import { execFileSync, spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
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
