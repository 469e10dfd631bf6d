import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { startLocalRuntime } from '@reelmesh/runtime';
import { renderMatrix, verifyMatrix } from '../verify-matrix';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('start the mesh and try every call of the access matrix through the real sidecars')
    .option('--json', 'print the full report as one JSON object')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--policy-url <url>', 'ask this OPA-compatible server instead of the policy sidecars')
    .action(async (opts: { json?: boolean; workflow?: string; policyUrl?: string }) => {
      const dir = await mkdtemp(join(tmpdir(), 'reelmesh-verify-'));
      const runtime = await startLocalRuntime({
        workflowPath: opts.workflow,
        dataRoot: join(dir, 'data'),
        stateDir: join(dir, 'state'),
        exportDir: join(dir, 'out'),
        ingestDir: join(dir, 'in'),
        meshOptions: { policyUrl: opts.policyUrl },
      });
      const stop = () => void runtime.stop(3_000).then(() => process.exit(130));
      process.once('SIGINT', stop);
      try {
        const report = await verifyMatrix(runtime);
        if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else {
          const agents = runtime.workflow.agents.map((a) => a.name);
          process.stdout.write(`${renderMatrix(report, agents)}\n\n`);
          for (const r of report.rows.filter((x) => x.actual !== x.expected)) {
            process.stdout.write(`MISMATCH ${r.source} -> ${r.destination} ${r.method} ${r.path}: expected ${r.expected}, got ${r.actual} (${r.status} ${r.code ?? ''})\n`);
          }
          process.stdout.write(
            `${report.attempts} attempts, ${report.expectedAllowed} expected allowed, ${report.allowed} allowed, ` +
              `${report.unexpectedAllows} unexpected allows, ${report.unexpectedDenies} unexpected denies\n`,
          );
        }
        if (report.unexpectedAllows + report.unexpectedDenies > 0) process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        await runtime.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
}
