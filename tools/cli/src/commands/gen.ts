import type { Command } from 'commander';
import { writeGeneratedPolicyFiles } from '@reelmesh/policy';
import { REPO_ROOT } from '@reelmesh/runtime';

/** `reelmesh gen`: regenerate every file derived from the workflow file. */
export function registerGen(program: Command): void {
  program
    .command('gen')
    .description('regenerate everything derived from policies/workflow.yaml (policy data, vectors, k8s, istio)')
    .option('--check', 'exit non-zero if any generated file is stale (writes nothing)')
    .action(async (opts: { check?: boolean }) => {
      if (opts.check) throw new Error('--check is not implemented yet');
      const written = writeGeneratedPolicyFiles(REPO_ROOT);
      for (const file of written) process.stdout.write(`${file}\n`);
    });
}
