import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENERATED_HEADER, orphanedFiles, renderDeployFiles, staleFiles, writeDeployFiles } from '@reelmesh/deploy';
import { renderGeneratedPolicyFiles } from '@reelmesh/policy';
import { loadWorkflow } from '@reelmesh/workflow';
import { planAddContractor } from './plan';
import { diskFiles } from './repo-files';
import { copyRepo, treeHashes } from './test-copy';

// `reelmesh gen` owns the generated files under k8s/, istio/ and docker/: those whose first line is
// the generated header. One it no longer renders is an orphan: --check reports it, gen deletes it.
let dir: string;
beforeEach(() => {
  dir = copyRepo(['policies', 'apps', 'k8s', 'istio', 'docker', 'docker-compose.yml', 'tsconfig.base.json']);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function put(path: string, content: string) {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
}

describe('orphaned generated files', () => {
  it('are the generated files no longer rendered, never a hand-written file', () => {
    const workflow = loadWorkflow(join(dir, 'policies/workflow.yaml'));
    const rendered = [...renderGeneratedPolicyFiles(workflow), ...renderDeployFiles(workflow)];
    expect(orphanedFiles(dir, rendered)).toEqual([]);
    put('docker/envoy/gone.yaml', `${GENERATED_HEADER}\nadmin: {}\n`);
    put('k8s/base/gone/gone.yaml', `${GENERATED_HEADER}\nkind: Namespace\n`);
    put('docker/NOTES.md', `hand-written, mentions ${GENERATED_HEADER}\n`);
    expect(orphanedFiles(dir, rendered)).toEqual(['docker/envoy/gone.yaml', 'k8s/base/gone/gone.yaml']);

    writeDeployFiles(dir, workflow);
    expect(existsSync(join(dir, 'docker/envoy/gone.yaml'))).toBe(false);
    expect(existsSync(join(dir, 'k8s/base/gone')), 'the folder it left empty').toBe(false);
    expect(readFileSync(join(dir, 'docker/NOTES.md'), 'utf8')).toContain('hand-written');
    expect(orphanedFiles(dir, rendered)).toEqual([]);
    expect(staleFiles(dir, rendered)).toEqual([]);
  });

  it("a contractor plan deletes what the workflow no longer generates (a removed agent's files)", () => {
    put('docker/ghost.Dockerfile', `${GENERATED_HEADER}\nFROM scratch\n`);
    const workflow = loadWorkflow(join(dir, 'policies/workflow.yaml'));
    const edge = workflow.edges.find((candidate) => candidate.artifact === 'picture')!;
    const hashes = treeHashes(dir);
    const plan = planAddContractor(diskFiles(dir), { name: 'spec-subs', after: edge.from, before: edge.to, artifact: edge.artifact, filter: 'null' });
    expect(plan.changes).toContainEqual({ path: 'docker/ghost.Dockerfile', content: null, previous: `${GENERATED_HEADER}\nFROM scratch\n` });
    expect(treeHashes(dir), 'a plan writes nothing').toEqual(hashes);
  });
});
