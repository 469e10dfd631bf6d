import { readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { agentConfigFromEnv, createStores } from '@reelmesh/agent-kit';
import { REPO_ROOT } from '@reelmesh/policy';
import { signPolicyDirectory, verifyAuditLog, verifyDeliverable } from '@reelmesh/provenance';
import { buildGraph, loadWorkflow, spiffeId } from '@reelmesh/workflow';

// `reelmesh provenance verify <deliverable-dir>` and `reelmesh audit verify <data-dir>`: offline
// re-checks of a finished run. The CA bundle is always given explicitly: trusting one shipped
// inside the directory being checked would let whoever altered it vouch for itself.

interface CommonOptions {
  ca?: string;
  workflow?: string;
  json?: boolean;
}

async function loadTrust(opts: CommonOptions) {
  if (!opts.ca) throw new Error('pass --ca <mesh CA bundle PEM> (the trust anchor to verify signatures against)');
  const workflow = opts.workflow ? loadWorkflow(resolve(opts.workflow)) : loadWorkflow();
  return { workflow, caBundle: await readFile(resolve(opts.ca), 'utf8') };
}

export function registerProvenance(program: Command): void {
  const provenance = program.command('provenance').description('signed provenance of every chunk');
  provenance
    .command('verify <deliverable-dir>')
    .description("re-check every chunk's signed chain back to the owner's original, offline")
    .option('--ca <file>', 'mesh CA bundle (PEM) the records must chain to')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--json', 'print the report as one JSON object')
    .action(async (dir: string, opts: CommonOptions) => {
      const { workflow, caBundle } = await loadTrust(opts);
      const report = await verifyDeliverable(resolve(dir), workflow, caBundle);
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        for (const c of report.chunks) {
          process.stdout.write(c.ok ? `chunk ${c.chunkIndex}: ok (${c.records} signed records)\n` : `chunk ${c.chunkIndex}: REFUSED: ${c.error}\n`);
        }
        process.stdout.write(report.ok ? `provenance ok: ${report.chunkCount} chunks\n` : 'provenance FAILED\n');
      }
      if (!report.ok) process.exitCode = 1;
    });

  provenance
    .command('sign-policy')
    .description("build the owner's signed OPA policy bundle (data.json + Rego + .manifest + .signatures.json)")
    .requiredOption('--key <file>', "owner's EC P-256 private key (PEM)")
    .requiredOption('--revision <n>', 'bundle revision (a counter; sidecars refuse anything not newer)')
    .requiredOption('--out <file>', 'where to write the bundle (.tar.gz)')
    .option('--key-id <id>', 'key id put in the signature', 'owner')
    .option('--policy-dir <dir>', 'folder holding data.json and the Rego (bundle root "reelmesh")', join(REPO_ROOT, 'policies/reelmesh'))
    .action(async (opts: { key: string; revision: string; out: string; keyId: string; policyDir: string }) => {
      const { archive, files } = signPolicyDirectory({
        policyDir: resolve(opts.policyDir),
        privateKey: await readFile(resolve(opts.key), 'utf8'),
        keyId: opts.keyId,
        revision: opts.revision,
      });
      const out = resolve(opts.out);
      await writeFile(`${out}.tmp`, archive);
      await rename(`${out}.tmp`, out);
      process.stdout.write(`${out}: revision ${opts.revision}, ${files} files signed\n`);
    });

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify <data-dir>')
    .description('check the hash chain and the owner-signed checkpoints; report the first altered, removed or inserted entry')
    .option('--ca <file>', 'mesh CA bundle (PEM) the checkpoints must chain to')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--log <name>', 'log name', 'owner')
    .option('--agent <agent>', 'agent whose volume holds the log', 'owner')
    .option('--json', 'print the report as one JSON object')
    .action(async (dir: string, opts: CommonOptions & { log: string; agent: string }) => {
      const { workflow, caBundle } = await loadTrust(opts);
      // REELMESH_KMS_* in the environment open a sealed volume; without them it is read as plain files.
      const dataDir = isAbsolute(dir) ? dir : join(process.cwd(), dir);
      const stores = createStores(agentConfigFromEnv({ ...process.env, REELMESH_DATA_DIR: dataDir }, { agent: opts.agent }));
      const report = await verifyAuditLog({
        store: stores.data,
        name: opts.log,
        workflowId: workflow.metadata.id,
        agent: opts.agent,
        caBundle,
        // The owner runs the workflow's source step and alone signs checkpoints.
        checkpointSigner: spiffeId(workflow, buildGraph(workflow).agentOf(buildGraph(workflow).sourceSteps[0])!),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else if (report.ok) {
        process.stdout.write(`audit log ok: ${report.entries} entries, ${report.checkpoints} signed checkpoints, ${report.uncheckpointed} after the last checkpoint\n`);
      } else {
        process.stdout.write(`audit log FAILED at ${report.problem!.kind.startsWith('checkpoint') ? 'checkpoint' : 'entry'} ${report.problem!.seq}: ${report.problem!.message}\n`);
      }
      if (!report.ok) process.exitCode = 1;
    });
}
