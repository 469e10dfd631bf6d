// The committed generated files are exactly what `reelmesh gen` would write now, and the check
// that `reelmesh gen --check` uses really notices a stale or missing file.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderGeneratedPolicyFiles } from '@reelmesh/policy';
import { renderDeployFiles, staleFiles } from './deploy-files';
import { GENERATED_HEADER } from './settings';
import { REPO_ROOT, workflow } from './test-support';

const wf = workflow();
const files = renderDeployFiles(wf);
const temps: string[] = [];
afterAll(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('generated deployment files', () => {
  it('are fresh: the committed files equal a regeneration from policies/workflow.yaml (run `reelmesh gen`)', () => {
    expect(staleFiles(REPO_ROOT, [...renderGeneratedPolicyFiles(wf), ...files])).toEqual([]);
  });

  it('cover k8s, istio, compose, Envoy, Dockerfiles and the access matrix', () => {
    const paths = files.map((file) => file.path);
    // For every agent of the workflow: its Istio ALLOW policy, its Envoy config, its app's image.
    for (const expected of [
      'policies/generated/access-matrix.json',
      'docker-compose.yml',
      'k8s/overlays/kind/kustomization.yaml',
      'istio/mesh/peer-authentication-mesh-strict.yaml',
      ...wf.agents.flatMap((agent) => [`istio/${agent.actor}/authorization-policy-${agent.name}-allow.yaml`, `docker/envoy/${agent.name}.yaml`, `docker/${agent.app}.Dockerfile`]),
      'docker/kms-local.Dockerfile',
    ]) {
      expect(paths).toContain(expected);
    }
  });

  it("agent images carry Debian's current ffmpeg (the jobs take it over the bundled build); the KMS image does not", () => {
    const content = (path: string) => files.find((file) => file.path === path)!.content;
    const install = /^RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf \/var\/lib\/apt\/lists\/\*$/m;
    for (const app of new Set(wf.agents.map((agent) => agent.app))) expect(content(`docker/${app}.Dockerfile`)).toMatch(install);
    expect(content('docker/kms-local.Dockerfile')).not.toMatch(/ffmpeg/);
  });

  it('say they are generated, and render identically twice', () => {
    for (const file of files) {
      if (file.path.endsWith('.json')) expect(JSON.parse(file.content)._generated, file.path).toMatch(/reelmesh gen/);
      else if (!file.path.endsWith('.rego')) expect(file.content.startsWith(`${GENERATED_HEADER}\n`), file.path).toBe(true);
    }
    expect(renderDeployFiles(wf)).toEqual(files);
  });

  it('the staleness check reports an edited file and a missing one, and nothing else', () => {
    const copy = mkdtempSync(join(tmpdir(), 'reelmesh-deploy-'));
    temps.push(copy);
    for (const dir of ['k8s', 'istio', 'docker', 'policies']) cpSync(join(REPO_ROOT, dir), join(copy, dir), { recursive: true });
    cpSync(join(REPO_ROOT, 'docker-compose.yml'), join(copy, 'docker-compose.yml'));
    expect(staleFiles(copy, files)).toEqual([]);
    const edited = 'istio/vfx/authorization-policy-vfx-2-allow.yaml';
    writeFileSync(join(copy, edited), readFileSync(join(copy, edited), 'utf8').replace('POST', 'GET'));
    rmSync(join(copy, 'docker-compose.yml'));
    expect(staleFiles(copy, files).sort()).toEqual(['docker-compose.yml', edited]);
  });

  it('a workflow change shows in the generated policies (one more caller, one more principal)', () => {
    const extended = { ...wf, edges: [...wf.edges, { from: 'split', to: 'grade', artifact: 'av' }] };
    const allow = renderDeployFiles(extended).find((file) => file.path === 'istio/color/authorization-policy-color-allow.yaml')!;
    expect(allow.content).toContain(`${wf.metadata.trustDomain}/ns/owner/sa/owner`);
    expect(staleFiles(REPO_ROOT, [allow])).toEqual([allow.path]);
  });
});
