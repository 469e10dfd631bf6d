import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { assertIsolationSupport } from '@reelmesh/netns';
import { parseIsolation, runFolders, startLocalRuntime } from '@reelmesh/runtime';
import { captureVerify } from '../capture';
import { verifyProvenance } from './provenance';
import { renderMatrix, verifyMatrix } from '../verify-matrix';

interface VerifyOptions {
  json?: boolean;
  workflow?: string;
  policyUrl?: string;
  isolation: string;
  capture?: boolean;
  reportDir: string;
  provenance?: string;
  ca?: string;
}

export function registerVerify(program: Command): void {
  program
    .command('verify [deliverable]')
    .description(
      'start the mesh and try every call of the access matrix through the real sidecars; or, given a deliverable (file or output folder) and --ca, verify its signed provenance offline',
    )
    .option('--json', 'print the full report as one JSON object')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--policy-url <url>', 'ask this OPA-compatible server instead of the policy sidecars')
    .option('--isolation <mode>', 'none (processes on loopback) or netns (each pod in its own network namespace; Linux, root)', 'none')
    .option('--capture', 'tcpdump every pod interface during the matrix and classify the traffic (implies --isolation netns)')
    .option('--report-dir <dir>', 'where --capture writes pcaps and capture-report.{md,json}', './capture-report')
    .option('--provenance <deliverable>', 'the same as `reelmesh verify <deliverable>` (needs --ca)')
    .option('--ca <file>', 'with a deliverable: the mesh CA bundle (PEM) the attestation and records must chain to')
    .action(async (deliverable: string | undefined, opts: VerifyOptions) => {
      if (deliverable && opts.provenance) throw new Error('name the deliverable once (positional or --provenance)');
      const target = deliverable ?? opts.provenance;
      if (target) return verifyProvenance(target, opts);
      if (opts.ca) throw new Error('--ca goes with a deliverable: reelmesh verify <deliverable> --ca <pem>');
      const isolation = opts.capture ? 'netns' : parseIsolation(opts.isolation);
      if (isolation === 'netns') assertIsolationSupport({ capture: opts.capture });
      const dir = await mkdtemp(join(tmpdir(), 'reelmesh-verify-'));
      const runtime = await startLocalRuntime({
        workflowPath: opts.workflow,
        ...runFolders(dir),
        meshOptions: { policyUrl: opts.policyUrl },
        isolation,
      });
      const stop = () => void runtime.stop(3_000).then(() => process.exit(130));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        if (opts.capture) {
          const report = await captureVerify(runtime, { outDir: resolve(opts.reportDir) });
          const t = report.totals;
          if (opts.json) process.stdout.write(`${JSON.stringify({ totals: t, files: report.files })}\n`);
          else {
            for (const v of report.verdicts.filter((x) => x.verdict === 'fail').slice(0, 50)) {
              process.stdout.write(`FAIL #${v.attempt} ${v.source} -> ${v.destination} ${v.method} ${v.path} on ${v.interface}: ${v.findings.join('; ')}\n`);
            }
            process.stdout.write(
              `${t.attempts} attempts captured on ${Object.keys(runtime.agents).length * 2} interfaces: ${t.passed} verdicts passed, ${t.failed} failed, ` +
                `${t.decisionMismatches} decision mismatches\nreport: ${report.files.markdown}\n`,
            );
          }
          if (t.failed > 0 || t.decisionMismatches > 0) process.exitCode = 1;
          return;
        }
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
        process.off('SIGTERM', stop);
        await runtime.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
}
