import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { kmsConfigFromEnv, sealedStore, type KmsConfig } from '@reelmesh/envelope';
import { agentPrincipal, startLocalKms, workflowKeyAlias, type PrincipalMap } from '@reelmesh/kms-local';
import { formatSpiffeId } from '@reelmesh/addressing';
import { LEDGER_AGENT, LEDGER_LOG, OWNER_BUNDLE_KEY_ID, signPolicyDirectory, verifyAuditLog, verifyDeliverable, type AuditEntry } from '@reelmesh/provenance';
import { REPO_ROOT } from '@reelmesh/runtime';
import { writeFileAtomic } from '@reelmesh/storage';
import { loadWorkflow, ownerOf, type Workflow } from '@reelmesh/workflow';

// `reelmesh verify <deliverable>` (also `reelmesh provenance verify`) and `reelmesh audit verify <run-dir>`: offline
// re-checks of a finished run. The CA bundle is always given explicitly: trusting one shipped
// inside the directory being checked would let whoever altered it vouch for itself.

export interface CommonOptions {
  ca?: string;
  workflow?: string;
  json?: boolean;
}

async function loadTrust(opts: CommonOptions) {
  if (!opts.ca) throw new Error('pass --ca <mesh CA bundle PEM> (the trust anchor to verify signatures against)');
  const workflow = opts.workflow ? loadWorkflow(resolve(opts.workflow)) : loadWorkflow();
  return { workflow, caBundle: await readFile(resolve(opts.ca), 'utf8') };
}

/**
 * `reelmesh verify <deliverable> --ca <pem>` (also `reelmesh provenance verify`, `verify --provenance`):
 * the deliverable file, its attestation or the output folder.
 */
export async function verifyProvenance(target: string, opts: CommonOptions): Promise<void> {
  const { workflow, caBundle } = await loadTrust(opts);
  const report = await verifyDeliverable(resolve(target), workflow, caBundle);
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const name = basename(report.deliverable);
    if (report.signer) {
      const policy = report.policy ? `policy bundle revision ${report.policy.revision}${report.policy.signed ? '' : ' (unsigned)'}` : 'policy in force not recorded';
      process.stdout.write(`${name}: attested by ${report.signer} at ${report.producedAt}; ${policy}; ffmpeg ${report.ffmpeg?.version} (${report.ffmpeg?.source})\n`);
    }
    for (const c of report.chunks) {
      process.stdout.write(c.ok ? `chunk ${c.chunkIndex}: ok (${c.records} signed records)\n` : `chunk ${c.chunkIndex}: REFUSED: ${c.error}\n`);
    }
    process.stdout.write(
      report.ok
        ? `deliverable ok: ${name} sha256 ${report.sha256} (${report.bytes} bytes), ${report.chunkCount} chunks\n`
        : `deliverable REFUSED (${report.failure}): ${report.error}\n`,
    );
  }
  if (!report.ok) process.exitCode = 1;
}

export function registerProvenance(program: Command): void {
  const provenance = program.command('provenance').description('signed provenance of every chunk');
  provenance
    .command('verify <deliverable>')
    .description("re-check the owner's signed attestation of the deliverable (file, .intoto.jsonl or output folder) and every chunk's chain, offline")
    .option('--ca <file>', 'mesh CA bundle (PEM) the records must chain to')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--json', 'print the report as one JSON object')
    .action(verifyProvenance);

  provenance
    .command('sign-policy')
    .description("build the owner's signed OPA policy bundle (data.json + Rego + .manifest + .signatures.json)")
    .requiredOption('--key <file>', "owner's EC P-256 private key (PEM)")
    .requiredOption('--revision <n>', 'bundle revision (a counter; sidecars refuse anything not newer)')
    .requiredOption('--out <file>', 'where to write the bundle (.tar.gz)')
    .option('--key-id <id>', 'key id put in the signature', OWNER_BUNDLE_KEY_ID)
    .option('--policy-dir <dir>', 'folder holding data.json and the Rego (bundle root "reelmesh")', join(REPO_ROOT, 'policies/reelmesh'))
    .action(async (opts: { key: string; revision: string; out: string; keyId: string; policyDir: string }) => {
      const { archive, files } = signPolicyDirectory({
        policyDir: resolve(opts.policyDir),
        privateKey: await readFile(resolve(opts.key), 'utf8'),
        keyId: opts.keyId,
        revision: opts.revision,
      });
      const out = resolve(opts.out);
      await writeFileAtomic(out, archive, { mode: 0o644 });
      process.stdout.write(`${out}: revision ${opts.revision}, ${files} files signed\n`);
    });

  const audit = program.command('audit').description("the owner's tamper-evident audit ledger (every handoff and policy decision)");
  audit
    .command('verify <run-dir>')
    .description('check the hash chain and the owner-signed checkpoints; report the first altered, removed or inserted entry')
    .option('--ca <file>', 'mesh CA bundle (PEM) the checkpoints must chain to')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--ledger <dir>', 'the ledger folder (default: <run-dir>/state/audit)')
    .option('--kms-state <dir>', "open the sealed ledger with the run's local KMS (default: <run-dir>/state/kms; REELMESH_KMS_* win)")
    .option('--json', 'print the report as one JSON object')
    .action(async (dir: string, opts: CommonOptions & { ledger?: string; kmsState?: string }) => {
      const { workflow, caBundle } = await loadTrust(opts);
      const events: Record<string, number> = {};
      const report = await verifyRunLedger(dir, {
        workflow,
        caBundle,
        ledgerDir: opts.ledger,
        kmsState: opts.kmsState,
        onEntry: (entry) => void (events[String(entry.event.type)] = (events[String(entry.event.type)] ?? 0) + 1),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, events })}\n`);
      else if (report.ok) {
        const kinds = Object.entries(events).map(([type, n]) => `${n} ${type}`).join(', ');
        process.stdout.write(`audit log ok: ${report.entries} entries (${kinds}), ${report.checkpoints} signed checkpoints, ${report.uncheckpointed} after the last checkpoint\n`);
      } else {
        process.stdout.write(`audit log FAILED at ${report.problem!.kind.startsWith('checkpoint') ? 'checkpoint' : 'entry'} ${report.problem!.seq}: ${report.problem!.message}\n`);
      }
      if (!report.ok) process.exitCode = 1;
    });
}

/**
 * Check a run's ledger (its hash chain and the owner-signed checkpoints), opening it sealed with the
 * run's local KMS (or REELMESH_KMS_*); `onEntry` sees every entry in order.
 */
export async function verifyRunLedger(
  dir: string,
  opts: { workflow: Workflow; caBundle: string; ledgerDir?: string; kmsState?: string; onEntry?: (entry: AuditEntry) => void },
) {
  const runDir = resolve(dir);
  const ledgerDir = resolve(opts.ledgerDir ?? join(runDir, 'state', 'audit'));
  if (!existsSync(join(ledgerDir, 'audit', LEDGER_LOG))) throw new Error(`no audit ledger in ${ledgerDir} (pass the run folder, or --ledger <dir>)`);
  const owner = ownerOf(opts.workflow).actor;
  const access = await ledgerAccess(process.env, opts.kmsState ?? join(runDir, 'state', 'kms'), owner);
  try {
    return await verifyAuditLog({
      store: sealedStore(ledgerDir, access.kms).store,
      name: LEDGER_LOG,
      workflowId: opts.workflow.metadata.id,
      agent: LEDGER_AGENT,
      caBundle: opts.caBundle,
      // Only the owner's ledger identity signs checkpoints.
      checkpointSigner: formatSpiffeId({ trustDomain: opts.workflow.metadata.trustDomain, actor: owner, agent: LEDGER_AGENT }),
      onEntry: opts.onEntry,
    });
  } finally {
    await access.stop();
  }
}

/**
 * Credentials to open the sealed ledger: the operator's own (REELMESH_KMS_*, e.g. AWS KMS), or on
 * this machine the run's local KMS, started over its sealed key state with the ledger's principal.
 */
export async function ledgerAccess(env: NodeJS.ProcessEnv, kmsState: string, owner: string): Promise<{ kms?: KmsConfig; stop(): Promise<void> }> {
  const fromEnv = kmsConfigFromEnv(env);
  if (fromEnv) return { kms: fromEnv, stop: async () => undefined };
  const principalsFile = join(kmsState, 'principals.json');
  if (!existsSync(principalsFile)) return { stop: async () => undefined }; // a plaintext (baseline) ledger
  const principals = JSON.parse(await readFile(principalsFile, 'utf8')) as PrincipalMap;
  const entry = Object.entries(principals).find(([, p]) => p.principal === agentPrincipal(LEDGER_AGENT));
  if (!entry) throw new Error(`${principalsFile} has no credential for the ${LEDGER_AGENT}`);
  const kms = await startLocalKms({ dataDir: kmsState, principals, region: 'local-1' });
  return {
    kms: {
      endpoint: kms.endpoint,
      region: kms.region,
      accessKeyId: entry[0],
      secretAccessKey: entry[1].secretAccessKey,
      keyId: workflowKeyAlias(owner),
      allowedKeyIds: [kms.admin.findKey(workflowKeyAlias(owner))!.arn],
    },
    stop: () => kms.stop(),
  };
}
