// The policy sidecar: OPA's job in a pod, answering OPA's REST API from the TypeScript engine.
//   tsx apps/policy-sidecar/src/main.ts [--listen 127.0.0.1:8181 | --listen unix:/abs/p.sock]
//     [--check-listen unix:/abs/check.sock | --check-listen 127.0.0.1:<port>]
//     [--data policies/reelmesh/data.json | --wait-for-push]
//     [--bundle-key owner-bundle.pub.pem [--bundle-key-id owner] [--bundle signed.tar.gz]]
//     [--decision-log FILE] [--audit-url <ledger>/v1/audit/logs]
// Env: POLICY_UPDATE_TOKEN enables PUT /v1/data (and /v1/bundle) for the control plane;
// REELMESH_AUDIT_TOKEN is the pod's token for --audit-url.
// Prints the one ready line, {"event":"ready","service":"policy-sidecar","pid":...,"endpoints":{"api":...}}
// (and "check": the check socket, the pod's proxy's way to ask; @reelmesh/policy check-protocol.ts);
// decision log lines go to stdout too unless --decision-log. With --audit-url every decision is
// shipped to the owner's audit ledger; while it stays unreachable, decisions fail closed. Started
// again after a crash with the same flags, it re-sends the decisions of its --decision-log file to
// --audit-url (the ledger keeps each decision_id once); see reship.ts.
// Signed-policy mode loads only bundles the owner signed; a refused one keeps the last good policy.
import { createWriteStream, openSync, readFileSync, type WriteStream } from 'node:fs';
import { ConfigError, runService } from '@reelmesh/http-kit';
import { loadPolicyData, startPolicySidecar } from '@reelmesh/policy';
import { AuditShipper } from '@reelmesh/provenance';
import { parseConfig } from './config';
import { previousLog, reshipDecisionLog } from './reship';

runService('policy-sidecar', async () => {
  const config = parseConfig(process.argv.slice(2), process.env);
  const signed = config.bundleKey !== undefined;
  const data = config.waitForPush || signed ? undefined : loadPolicyData(config.data);
  // What previous runs left in the log, measured before this run appends to it.
  const previous = config.decisionLog && config.auditUrl ? previousLog(config.decisionLog) : undefined;
  const decisionLog = config.decisionLog ? openLog(config.decisionLog) : undefined;
  // A line cut short by a kill -9 stays on its own line: the first decision of this run is not glued to it.
  if (previous?.cutShort) decisionLog?.write('\n');
  const audit = config.auditUrl
    ? new AuditShipper({
        url: config.auditUrl,
        token: config.auditToken!,
        onError: (error) => process.stderr.write(`${JSON.stringify({ event: 'audit_retry', message: error.message })}\n`),
      })
    : undefined;
  const sidecar = await startPolicySidecar({
    listen: config.listen,
    checkListen: config.checkListen,
    data,
    decisionLog: decisionLog ?? process.stdout,
    auditSink: audit,
    updateToken: config.updateToken,
    ...(signed
      ? {
          bundleKey: { publicKeyPem: readFileSync(config.bundleKey!, 'utf8'), keyId: config.bundleKeyId },
          bundle: config.bundle ? readFileSync(config.bundle) : undefined,
        }
      : {}),
  });
  if (sidecar.startupBundleError) {
    process.stderr.write(`${JSON.stringify({ event: 'bundle_refused', message: sidecar.startupBundleError, effect: 'deny all' })}\n`);
  }
  // In the background: the sidecar decides (and ships new decisions) while the backlog streams out.
  const stopResending = new AbortController();
  const resending =
    previous && audit
      ? reshipDecisionLog(config.decisionLog!, previous, audit, {
          signal: stopResending.signal,
          onSkipped: (line) => process.stderr.write(`${JSON.stringify({ event: 'decision_log_line_skipped', line, message: 'not a decision (cut short by a crash?)' })}\n`),
        }).then(
          (counts) => process.stderr.write(`${JSON.stringify({ event: 'decision_log_resent', ...counts })}\n`),
          (error: Error) => process.stderr.write(`${JSON.stringify({ event: 'decision_log_resend_failed', message: error.message })}\n`),
        )
      : undefined;
  return {
    endpoints: { api: sidecar.url, ...(sidecar.checkAddress ? { check: sidecar.checkAddress } : {}) },
    async stop() {
      // The file stays: whatever was not re-sent now is re-sent at the next start.
      stopResending.abort();
      await resending;
      await sidecar.stop();
      // Deliver the decisions still queued for the ledger.
      await audit?.close();
      // Flush the decision log before exiting: an audit trail with its last lines lost is no trail.
      if (decisionLog) await new Promise<void>((resolve, reject) => decisionLog.once('error', reject).end(resolve));
    },
  };
});

/** Opened now, so a log that cannot be written is a start-up error, not a crash after the ready line. */
function openLog(path: string): WriteStream {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (error) {
    throw new ConfigError(`--decision-log: ${(error as Error).message}`);
  }
  return createWriteStream(path, { fd });
}
