import type { Command } from 'commander';
import { orphanedFiles, renderRepoGeneratedFiles, staleFiles, writeGeneratedFiles } from '@reelmesh/deploy';
import { policyDataJson } from '@reelmesh/policy';
import { assertWorkflowImplemented, REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { join, resolve } from 'node:path';
import { LIST_KINDS, listWorkflow } from './workflow-list';

/**
 * `reelmesh gen`: regenerate every file derived from the workflow file (policy data and vectors,
 * access matrix, k8s/, istio/, docker-compose.yml, docker/), and delete the generated files no
 * longer rendered (orphans: a removed agent's Dockerfile, Envoy config, k8s and istio files; see
 * GENERATED_ROOTS in libs/deploy). `--check` renders in memory, writes nothing, and exits 1
 * listing the stale and orphaned files.
 */
export function registerGen(program: Command): void {
  program
    .command('gen')
    .description('regenerate everything derived from policies/workflow.yaml (policy data, vectors, access matrix, k8s, istio, compose)')
    .option('--check', 'exit 1 listing every generated file that is stale, missing or orphaned (writes nothing)')
    .option('--list [kind]', `print what the workflow defines, writing nothing: a table of its agents, or one name per line of ${LIST_KINDS.join(', ')} (for scripts)`)
    .option('--policy-data <workflow-file>', "print the policy data derived from a workflow file, writing nothing (a policy sidecar's --data)")
    .action(async (opts: { check?: boolean; list?: string | boolean; policyData?: string }) => {
      if (opts.policyData !== undefined) {
        if (opts.check || opts.list !== undefined) throw new Error('--policy-data takes no --check or --list');
        // The same bytes `reelmesh gen` writes to policies/reelmesh/data.json for the repository's workflow.
        process.stdout.write(policyDataJson(loadWorkflow(resolve(opts.policyData))));
        return;
      }
      const workflow = loadWorkflow(join(REPO_ROOT, 'policies/workflow.yaml'));
      if (opts.list !== undefined) {
        for (const line of listWorkflow(workflow, typeof opts.list === 'string' ? opts.list : undefined)) process.stdout.write(`${line}\n`);
        return;
      }
      // Images, Deployments and Compose services for an app that does not exist would deploy nothing.
      assertWorkflowImplemented(workflow);
      if (opts.check) {
        const rendered = renderRepoGeneratedFiles(REPO_ROOT, workflow);
        const orphans = orphanedFiles(REPO_ROOT, rendered);
        const stale = staleFiles(REPO_ROOT, rendered);
        for (const file of stale) process.stdout.write(`stale: ${file}\n`);
        for (const file of orphans) process.stdout.write(`orphaned: ${file}\n`);
        if (stale.length + orphans.length > 0) {
          const counts = [stale.length > 0 ? `${stale.length} stale` : '', orphans.length > 0 ? `${orphans.length} orphaned (no longer generated)` : ''];
          process.stderr.write(`reelmesh: generated files out of date: ${counts.filter(Boolean).join(', ')}; run \`reelmesh gen\`\n`);
          process.exitCode = 1;
        }
        return;
      }
      const { written, deleted } = writeGeneratedFiles(REPO_ROOT, workflow);
      for (const file of written) process.stdout.write(`${file}\n`);
      for (const file of deleted) process.stdout.write(`deleted: ${file}\n`);
    });
}
