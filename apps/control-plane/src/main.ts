// The mesh control plane as a process: `node main.ts [--listen 127.0.0.1:0 | --listen unix:/path]
// [--trust-domain reelmesh.local] [--dir <ca dir>] [--audit-dir <dir> --audit-workflow <id>
// --audit-owner-actor <actor>] [--bundle-key <owner public key> [--bundle <signed bundle.tar.gz>]]
// [--ca-cert <pem> --ca-key <pem>] [--mesh-identity]`.
// --mesh-identity (Compose, Istio): callers without a token are the SPIFFE id their sidecar put in
// x-forwarded-client-cert (see startControlPlane). --ca-cert/--ca-key: issue from that CA instead
// of one of its own. --bundle: the owner's signed bundle the OPA sidecars load, as the policy in
// force (what GET /v1/policy answers and the owner's attestation names).
// The admin token comes from REELMESH_CP_ADMIN_TOKEN; if unset, a random one is generated and put
// in the ready line's details (only the parent reads stdout). With --audit-dir the ledger is sealed
// at rest under the owner's workflow key when REELMESH_KMS_* are set (the ledger's own principal).
// With --dir, everything else it knows (enrolments, registry, policy sidecars, the policy in force)
// is kept there too, so started again on the same --dir after a crash it carries on; a state file
// it cannot read stops it with one error line (STATE_CORRUPT) naming the file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { kmsConfigFromEnv, sealedStore } from '@reelmesh/envelope';
import { ConfigError, runService } from '@reelmesh/http-kit';
import { startControlPlane } from '@reelmesh/mesh';
import { OWNER_BUNDLE_KEY_ID } from '@reelmesh/provenance';
import { loadCaFiles } from './ca-files';

runService('control-plane', async () => {
  const { values: o } = parseArgs({
    options: {
      listen: { type: 'string', default: '127.0.0.1:0' },
      'trust-domain': { type: 'string', default: 'reelmesh.local' },
      dir: { type: 'string' },
      'svid-ttl': { type: 'string', default: '3600' },
      'bundle-key': { type: 'string' },
      'bundle-key-id': { type: 'string', default: OWNER_BUNDLE_KEY_ID },
      'audit-dir': { type: 'string' },
      'audit-workflow': { type: 'string' },
      'audit-owner-actor': { type: 'string' },
      bundle: { type: 'string' },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      'mesh-identity': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const ttl = Number(o['svid-ttl']);
  if (!(ttl > 0)) throw new ConfigError(`--svid-ttl must be a positive number of seconds, got ${o['svid-ttl']}`);
  const auditDir = o['audit-dir'];
  if (auditDir && (!o['audit-workflow'] || !o['audit-owner-actor'])) throw new ConfigError('--audit-dir needs --audit-workflow and --audit-owner-actor');
  const kms = kmsConfigFromEnv(process.env);
  if (auditDir && !kms && process.env.REELMESH_AUDIT_PLAINTEXT !== '1') {
    throw new ConfigError('the audit ledger is sealed at rest: set REELMESH_KMS_* (or REELMESH_AUDIT_PLAINTEXT=1 for a baseline)');
  }
  if (Boolean(o['ca-cert']) !== Boolean(o['ca-key'])) throw new ConfigError('--ca-cert and --ca-key go together');
  if (o.bundle && !o['bundle-key']) throw new ConfigError('--bundle needs --bundle-key (the policy store takes only signed bundles then)');
  const ca = o['ca-cert'] ? await loadCaFiles(o['ca-cert'], o['ca-key']!, o['trust-domain']) : undefined;
  const bundle = o.bundle ? await readFile(o.bundle).catch((error: Error) => {
    throw new ConfigError(`cannot read --bundle ${o.bundle}: ${error.message}`);
  }) : undefined;
  const givenToken = process.env.REELMESH_CP_ADMIN_TOKEN || undefined;
  const cp = await startControlPlane({
    trustDomain: o['trust-domain'],
    ca,
    meshIdentity: o['mesh-identity'],
    dir: o.dir,
    listen: o.listen,
    adminToken: givenToken,
    svidTtlSeconds: ttl,
    policyBundleKey: o['bundle-key'] ? { publicKeyPem: readFileSync(o['bundle-key'], 'utf8'), keyId: o['bundle-key-id'] } : undefined,
    audit: auditDir ? { store: sealedStore(auditDir, kms).store, workflowId: o['audit-workflow']!, ownerActor: o['audit-owner-actor']! } : undefined,
  });
  // Published unless it is the one in force already (a restart on the same --dir).
  if (bundle && cp.policies.current()?.sha256 !== createHash('sha256').update(bundle).digest('hex')) {
    await cp.policies.publishBundle(bundle).catch(async (error: Error) => {
      await cp.close();
      throw new ConfigError(`--bundle ${o.bundle}: ${error.message}`);
    });
  }
  return {
    endpoints: { api: cp.url },
    details: {
      trustDomain: cp.ca.trustDomain,
      ...(givenToken ? {} : { adminToken: cp.adminToken }),
      ...(cp.ledger ? { audit: { entries: cp.ledger.size, sealed: Boolean(kms) } } : {}),
    },
    stop: () => cp.close(),
  };
});
