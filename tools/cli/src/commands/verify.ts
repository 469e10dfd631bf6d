import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { assertIsolationSupport } from '@reelmesh/netns';
import { parseIsolation, runFolders, startLocalRuntime } from '@reelmesh/runtime';
import { captureVerify } from '../capture';
import { verifyProvenance } from './provenance';
import { loadWorkflow } from '@reelmesh/workflow';
import { summarizeRows, verifyMatrix } from '../verify-matrix';
import { TARGETS, type RemoteTarget } from './verify-target/denials';
import { writeVerifyReport } from './verify-target/report';
import { verifyTarget } from './verify-target/run-target';

interface VerifyOptions {
  json?: boolean;
  workflow?: string;
  policyUrl?: string;
  isolation: string;
  capture?: boolean;
  reportDir: string;
  provenance?: string;
  ca?: string;
  target?: string;
  context?: string;
  namespaceOf: string[];
  composeFile?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

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
    .option('--target <where>', 'attempt every call from inside the pods of a running deployment: compose or kube (docs/integration-suite.md)')
    .option('--context <name>', 'with --target kube: the kubectl context')
    .option('--namespace-of <agent=namespace>', 'with --target kube: where an agent runs, if not in its actor\'s namespace (repeatable)', collect, [])
    .option('--compose-file <file>', 'with --target compose: the Compose file (default: docker compose\'s own lookup)')
    .action(async (deliverable: string | undefined, opts: VerifyOptions) => {
      if (deliverable && opts.provenance) throw new Error('name the deliverable once (positional or --provenance)');
      const target = deliverable ?? opts.provenance;
      if (target) return verifyProvenance(target, opts);
      if (opts.ca) throw new Error('--ca goes with a deliverable: reelmesh verify <deliverable> --ca <pem>');
      if (opts.target !== undefined) return verifyDeployment(opts);
      if (opts.context || opts.namespaceOf.length > 0 || opts.composeFile) throw new Error('--context, --namespace-of and --compose-file go with --target');
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
        if (writeVerifyReport(report, runtime.workflow.agents.map((a) => a.name), { json: opts.json })) process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await runtime.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
}

/** `--target compose|kube`: the same matrix, report and exit status, against a running deployment. */
async function verifyDeployment(opts: VerifyOptions): Promise<void> {
  const target = opts.target as RemoteTarget;
  if (!(TARGETS as readonly string[]).includes(target)) throw new Error(`--target is ${TARGETS.join(' or ')}, not "${opts.target}"`);
  if (opts.capture || opts.policyUrl || opts.isolation !== 'none') throw new Error('--capture, --policy-url and --isolation are for the local mesh, not --target');
  if (target === 'compose' && (opts.context || opts.namespaceOf.length > 0)) throw new Error('--context and --namespace-of go with --target kube');
  if (target === 'kube' && opts.composeFile) throw new Error('--compose-file goes with --target compose');
  const namespaces: Record<string, string> = {};
  for (const pair of opts.namespaceOf) {
    const match = /^([^=]+)=([^=]+)$/.exec(pair);
    if (!match) throw new Error(`--namespace-of takes agent=namespace, not "${pair}"`);
    namespaces[match[1]] = match[2];
  }
  const workflow = loadWorkflow(opts.workflow);
  const rows = await verifyTarget(workflow, {
    target,
    context: opts.context,
    namespaces,
    composeFile: opts.composeFile,
    progress: (line) => void process.stderr.write(`${line}\n`),
  });
  if (writeVerifyReport(summarizeRows(rows), workflow.agents.map((a) => a.name), { json: opts.json })) process.exitCode = 1;
}
