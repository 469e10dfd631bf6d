// Runs the mesh control plane as a process: `tsx libs/mesh/src/control-plane/main.ts --port 0`.
// Prints one JSON ready line on stdout. The admin token comes from REELMESH_CP_ADMIN_TOKEN; if
// unset, a random one is generated and included in the ready line (only the parent reads stdout).
// `--audit-dir <dir> --audit-workflow <id>` keeps the owner's audit ledger there, sealed under the
// owner's workflow key when REELMESH_KMS_* are set (the ledger's own KMS principal).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { kmsConfigFromEnv, sealedStore } from '@reelmesh/envelope';
import { startControlPlane } from './server';

const program = new Command()
  .name('reelmesh-control-plane')
  .option('--trust-domain <domain>', 'SPIFFE trust domain', 'reelmesh.local')
  .option('--dir <dir>', 'persist the CA root in this directory')
  .option('--host <host>', 'loopback interface', '127.0.0.1')
  .option('--port <port>', 'TCP port (0 = any free)', '0')
  .option('--socket <path>', 'listen on a unix socket instead of TCP')
  .option('--svid-ttl <seconds>', 'lifetime of issued SVIDs', '3600')
  .option('--bundle-key <file>', "signed-policy mode: the owner's bundle-signing public key (PEM); the policy store takes only bundles it signed")
  .option('--bundle-key-id <id>', 'key id the bundles must name', 'owner')
  .option('--audit-dir <dir>', "keep the owner's audit ledger in this directory")
  .option('--audit-workflow <id>', 'workflow id the ledger belongs to (needed with --audit-dir)')
  .option('--audit-owner-actor <actor>', "the owner's actor: checkpoints are signed as ns/<actor>/sa/audit-ledger", 'owner')
  .parse();

const o = program.opts<{
  trustDomain: string; dir?: string; host: string; port: string; socket?: string; svidTtl: string;
  auditDir?: string; auditWorkflow?: string; auditOwnerActor: string; bundleKey?: string; bundleKeyId: string;
}>();
const givenToken = process.env.REELMESH_CP_ADMIN_TOKEN;

try {
  if (o.auditDir && !o.auditWorkflow) throw new Error('--audit-dir needs --audit-workflow');
  const kms = kmsConfigFromEnv(process.env);
  if (o.auditDir && !kms && process.env.REELMESH_AUDIT_PLAINTEXT !== '1') {
    throw new Error('the audit ledger is sealed at rest: set REELMESH_KMS_* (or REELMESH_AUDIT_PLAINTEXT=1 for a baseline)');
  }
  const cp = await startControlPlane({
    trustDomain: o.trustDomain,
    dir: o.dir,
    listen: o.socket ? { socketPath: o.socket } : { host: o.host, port: Number(o.port) },
    adminToken: givenToken,
    svidTtlSeconds: Number(o.svidTtl),
    policyBundleKey: o.bundleKey ? { publicKeyPem: readFileSync(o.bundleKey, 'utf8'), keyId: o.bundleKeyId } : undefined,
    audit: o.auditDir
      ? { store: sealedStore(o.auditDir, kms).store, workflowId: o.auditWorkflow!, ownerActor: o.auditOwnerActor }
      : undefined,
  });
  process.stdout.write(
    JSON.stringify({
      ready: true,
      component: 'control-plane',
      url: cp.url,
      trustDomain: o.trustDomain,
      ...(givenToken ? {} : { adminToken: cp.adminToken }),
      ...(cp.ledger ? { audit: { entries: cp.ledger.size, sealed: Boolean(kms) } } : {}),
    }) + '\n',
  );
  const stop = () => void cp.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (err) {
  process.stderr.write(JSON.stringify({ ready: false, component: 'control-plane', error: (err as Error).message }) + '\n');
  process.exit(1);
}
