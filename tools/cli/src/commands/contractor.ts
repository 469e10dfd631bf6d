import type { Command } from 'commander';
import {
  applyChanges,
  ContractorError,
  describePlan,
  diskFiles,
  planAddContractor,
  planRemoveContractor,
  type ContractorPlan,
} from '@reelmesh/plugin';
import { REPO_ROOT } from '@reelmesh/runtime';

/**
 * `reelmesh contractor add|remove`: the same core as the Nx generators of @reelmesh/plugin
 * (tools/plugin). Everything is checked and computed first; then every file is written, or, if
 * one write fails, none stays changed. `--dry-run` prints the plan and writes nothing.
 */
export function registerContractor(program: Command, root: string = REPO_ROOT): void {
  const contractor = program.command('contractor').description('add or remove a contractor: its workflow step, app and everything generated from the workflow');
  contractor
    .command('add <name>')
    .description('add contractor <name> (agent = step = app) on the edge --after -> --before carrying --artifact')
    .requiredOption('--after <step>', 'the step the contractor comes after')
    .requiredOption('--before <step>', 'the step the contractor hands on to')
    .requiredOption('--artifact <artifact>', 'the artifact of the edge it takes (e.g. picture, sound)')
    .option('--filter <graph>', 'the job is this ffmpeg filter graph, declared under jobs: in the workflow')
    .option('--job <module>', 'the job is a module apps/<name>/src/jobs/<module>.ts')
    .option('--actor <actor>', 'the actor owning the contractor (default: <name>; created if new)')
    .option('--dry-run', 'print the plan (files, edges) and write nothing')
    .action((name: string, opts: { after: string; before: string; artifact: string; filter?: string; job?: string; actor?: string; dryRun?: boolean }) => {
      const { dryRun, ...options } = opts;
      run(root, () => planAddContractor(diskFiles(root), { name, ...options }), dryRun);
    });
  contractor
    .command('remove <name>')
    .description('remove contractor <name>, restoring the edge it took')
    .option('--dry-run', 'print the plan (files, edges) and write nothing')
    .action((name: string, opts: { dryRun?: boolean }) => run(root, () => planRemoveContractor(diskFiles(root), name), opts.dryRun));
}

function run(root: string, plan: () => ContractorPlan, dryRun = false): void {
  let planned: ContractorPlan;
  try {
    planned = plan();
  } catch (error) {
    // Refused: main() prints the one line; nothing was written.
    if (error instanceof ContractorError) throw new Error(`contractor: ${error.message}`);
    throw error;
  }
  for (const line of describePlan(planned)) process.stdout.write(`${line}\n`);
  if (dryRun) {
    process.stdout.write('dry run: nothing written\n');
    return;
  }
  applyChanges(root, planned.changes);
  const next = planned.action === 'add' ? `; next: npx vitest run apps/${planned.name} (docs/contractors.md)` : '';
  process.stdout.write(`${planned.changes.length} file(s) changed${next}\n`);
}
