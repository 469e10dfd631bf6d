import type { Command } from 'commander';
import { bundleProgram } from '@reelmesh/deploy';
import { REPO_ROOT } from '@reelmesh/runtime';

/**
 * `reelmesh build <program...>`: the Nx `build` target of every deployable (an agent app or a
 * platform service under apps/): one esbuild bundle, dist/apps/<program>/main.cjs.
 */
export function registerBuild(program: Command): void {
  program
    .command('build <programs...>')
    .description('bundle programs of apps/ (agent apps, platform services) into dist/apps/<name>/main.cjs')
    .action(async (programs: string[]) => {
      for (const name of programs) process.stdout.write(`${await bundleProgram({ repoRoot: REPO_ROOT, program: name })}\n`);
    });
}
