import type { Command } from 'commander';
import { renderDeployFiles, staleFiles, writeDeployFiles } from '@reelmesh/deploy';
import { renderGeneratedPolicyFiles, writeGeneratedPolicyFiles } from '@reelmesh/policy';
import { assertAgentAppsExist, REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { join } from 'node:path';
import { LIST_KINDS, listWorkflow } from './workflow-list';

/**
 * `reelmesh gen`: regenerate every file derived from the workflow file (policy data and vectors,
 * access matrix, k8s/, istio/, docker-compose.yml, docker/). `--check` renders in memory, writes
 * nothing, and exits 1 listing the stale files.
 */
export function registerGen(program: Command): void {
  program
    .command('gen')
    .description('regenerate everything derived from policies/workflow.yaml (policy data, vectors, access matrix, k8s, istio, compose)')
    .option('--check', 'exit 1 listing every generated file that is stale or missing (writes nothing)')
    .option('--list [kind]', `print what the workflow defines, writing nothing: a table of its agents, or one name per line of ${LIST_KINDS.join(', ')} (for scripts)`)
    .action(async (opts: { check?: boolean; list?: string | boolean }) => {
      const workflow = loadWorkflow(join(REPO_ROOT, 'policies/workflow.yaml'));
      if (opts.list !== undefined) {
        for (const line of listWorkflow(workflow, typeof opts.list === 'string' ? opts.list : undefined)) process.stdout.write(`${line}\n`);
        return;
      }
      // Images, Deployments and Compose services for an app that does not exist would deploy nothing.
      assertAgentAppsExist(workflow);
      if (opts.check) {
        const stale = staleFiles(REPO_ROOT, [...renderGeneratedPolicyFiles(workflow), ...renderDeployFiles(workflow)]);
        for (const file of stale) process.stdout.write(`stale: ${file}\n`);
        if (stale.length > 0) {
          process.stderr.write(`reelmesh: ${stale.length} generated file(s) are stale; run \`reelmesh gen\`\n`);
          process.exitCode = 1;
        }
        return;
      }
      // Policy first: the k8s policy ConfigMap copies what it writes.
      const written = [...writeGeneratedPolicyFiles(REPO_ROOT, workflow), ...writeDeployFiles(REPO_ROOT, workflow)];
      for (const file of written) process.stdout.write(`${file}\n`);
    });
}
