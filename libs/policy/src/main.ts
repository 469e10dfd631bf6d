// Runs the policy sidecar: `tsx libs/policy/src/main.ts [--port 8181] [--host 127.0.0.1]
// [--data policies/reelmesh/data.json | --workflow policies/workflow.yaml]`.
// Prints one JSON ready line on stdout; decision log lines go to stdout too unless --decision-log FILE.
// POLICY_UPDATE_TOKEN (env) enables PUT /v1/data for the control plane.
// `--audit-url <ledger>/v1/audit/logs` (+ REELMESH_AUDIT_TOKEN) ships every decision to the owner's
// audit ledger in OPA's decision-log upload format; if it stays unreachable, decisions fail closed.
// Signed-policy mode: `--bundle-key owner-bundle.pub.pem [--bundle signed.tar.gz]` loads only
// OPA bundles signed by the owner (PUT /v1/bundle); a refused bundle keeps the last good policy.
import { createWriteStream, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AuditShipper } from '@reelmesh/provenance';
import { loadWorkflow } from '@reelmesh/workflow';
import { loadPolicyData } from './files';
import { generatePolicyData } from './generate';
import { startPolicySidecar } from './server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.POLICY_PORT ?? '8181' },
      host: { type: 'string', default: process.env.POLICY_HOST ?? '127.0.0.1' },
      data: { type: 'string' },
      workflow: { type: 'string' },
      // Start with no policy (deny everything, /health 503) until the control plane pushes one.
      'wait-for-push': { type: 'boolean', default: false },
      'decision-log': { type: 'string' },
      // Signed-policy mode: load only OPA bundles signed by this public key (PEM).
      bundle: { type: 'string' },
      'bundle-key': { type: 'string' },
      'bundle-key-id': { type: 'string' },
      'audit-url': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${values.port}`);
  if (values.data && values.workflow) throw new Error('give --data or --workflow, not both');

  if (values['wait-for-push'] && (values.data || values.workflow)) throw new Error('--wait-for-push takes no --data or --workflow');
  if (values['wait-for-push'] && !process.env.POLICY_UPDATE_TOKEN) throw new Error('--wait-for-push needs POLICY_UPDATE_TOKEN');
  const signed = values['bundle-key'] !== undefined;
  if (signed && (values.data || values.workflow)) throw new Error('--bundle-key loads signed bundles only: drop --data/--workflow');
  if (values.bundle && !signed) throw new Error('--bundle needs --bundle-key to verify it');
  const data = values['wait-for-push'] || signed ? undefined : values.workflow ? generatePolicyData(loadWorkflow(values.workflow)) : loadPolicyData(values.data);
  const decisionLog = values['decision-log'] ? createWriteStream(values['decision-log'], { flags: 'a' }) : process.stdout;
  const auditToken = process.env.REELMESH_AUDIT_TOKEN;
  if (values['audit-url'] && !auditToken) throw new Error('--audit-url needs REELMESH_AUDIT_TOKEN');
  const audit = values['audit-url']
    ? new AuditShipper({
        url: values['audit-url'],
        token: auditToken!,
        onError: (error) => process.stderr.write(`${JSON.stringify({ event: 'audit_retry', message: error.message })}\n`),
      })
    : undefined;
  const sidecar = await startPolicySidecar({
    port,
    host: values.host,
    data,
    decisionLog,
    auditSink: audit,
    updateToken: process.env.POLICY_UPDATE_TOKEN || undefined,
    ...(signed
      ? {
          bundleKey: { publicKeyPem: readFileSync(values['bundle-key']!, 'utf8'), keyId: values['bundle-key-id'] },
          bundle: values.bundle ? readFileSync(values.bundle) : undefined,
        }
      : {}),
  });
  if (sidecar.startupBundleError) {
    process.stderr.write(`${JSON.stringify({ event: 'bundle_refused', message: sidecar.startupBundleError, effect: 'deny all' })}\n`);
  }
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: sidecar.url, port: sidecar.port })}\n`);

  const shutdown = (signal: string) => {
    sidecar
      .stop()
      // Deliver the decisions still queued for the ledger.
      .then(() => audit?.close())
      // Flush the decision log before exiting: an audit trail with its last lines lost is no trail.
      .then(() => (decisionLog === process.stdout ? undefined : new Promise<void>((resolve) => decisionLog.end(resolve))))
      .then(() => {
        process.stdout.write(`${JSON.stringify({ event: 'stopped', signal })}\n`);
        process.exit(0);
      })
      .catch(() => process.exit(1));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ event: 'error', message: (error as Error).message })}\n`);
  process.exit(1);
});
