// `reelmesh certs`: the Compose mesh's identities. The project's CA (@reelmesh/mesh createCa) issues
// one SVID per agent; the local KMS gets one SigV4 credential per agent; the owner's key signs the
// policy bundle every OPA sidecar loads (policy/reelmesh.tar.gz + policy/owner-bundle.pub.pem).
// Keys are written 0600 into a folder that is never committed (.reelmesh/certs by default).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KMS_ENV } from '@reelmesh/envelope';
import { OWNER_BUNDLE_KEY_ID, signPolicyDirectory } from '@reelmesh/provenance';
import { generateAgentCredentials } from '@reelmesh/kms-local';
import { createCa } from '@reelmesh/mesh';
import { writeFileAtomicSync } from '@reelmesh/storage';
import { spiffeId, type Workflow } from '@reelmesh/workflow';

export interface IssueCertsOptions {
  outDir: string;
  /** Folder with the policy bundle's data.json and Rego (policies/reelmesh). */
  policyDir: string;
  /** Bundle revision (default: now in ms; sidecars never go back to an older one). */
  revision?: number;
  /** SVID lifetime; Compose has no rotation, so a working day by default. */
  ttlHours?: number;
}

export interface IssuedCerts {
  outDir: string;
  /** Paths written, relative to outDir. */
  files: string[];
}

export async function issueComposeCerts(wf: Workflow, options: IssueCertsOptions): Promise<IssuedCerts> {
  const ttlHours = options.ttlHours ?? 24;
  if (!Number.isFinite(ttlHours) || ttlHours <= 0 || ttlHours > 24 * 30) throw new RangeError(`ttl must be 0-720 hours, got ${ttlHours}`);
  const out = options.outDir;
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const files: string[] = [];
  const write = (rel: string, content: string | Buffer, mode: number) => {
    // Atomic: a key is never seen half-written; the new file has exactly `mode`.
    writeFileAtomicSync(join(out, rel), content, { mode });
    files.push(rel);
  };

  // The CA root persists in ca/, so re-running adds fresh leaves under the same trust bundle.
  const ca = await createCa({ trustDomain: wf.metadata.trustDomain, dir: join(out, 'ca') });
  write('ca.pem', ca.bundlePem, 0o644);
  const credentials = generateAgentCredentials(wf.agents.map((agent) => ({ name: agent.name })));
  for (const agent of wf.agents) {
    mkdirSync(join(out, agent.name), { recursive: true, mode: 0o700 });
    const svid = await ca.issue({ spiffeId: spiffeId(wf, agent.name), ttlSeconds: ttlHours * 3600 });
    write(join(agent.name, 'cert.pem'), svid.chainPem, 0o644);
    write(join(agent.name, 'key.pem'), svid.keyPem, 0o600);
    const credential = credentials.byAgent[agent.name];
    write(
      join(agent.name, 'kms.env'),
      `${KMS_ENV.accessKeyId}=${credential.accessKeyId}\n${KMS_ENV.secretAccessKey}=${credential.secretAccessKey}\n`,
      0o600,
    );
  }
  mkdirSync(join(out, 'kms'), { recursive: true, mode: 0o700 });
  write(join('kms', 'principals.json'), `${JSON.stringify(credentials.principals, null, 2)}\n`, 0o600);

  // The owner's bundle key persists (owner/bundle-key.pem, 0600): a re-run signs a newer revision
  // with the same key, so sidecars keep trusting it. Only the public half is mounted into OPA.
  const keyFile = join(out, 'owner', 'bundle-key.pem');
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  if (!existsSync(keyFile)) {
    write(join('owner', 'bundle-key.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  }
  const privateKey = readFileSync(keyFile, 'utf8');
  const { archive } = signPolicyDirectory({ policyDir: options.policyDir, privateKey, keyId: OWNER_BUNDLE_KEY_ID, revision: options.revision ?? Date.now() });
  mkdirSync(join(out, 'policy'), { recursive: true, mode: 0o755 });
  write(join('policy', 'reelmesh.tar.gz'), archive, 0o644);
  write(join('policy', 'owner-bundle.pub.pem'), createPublicKey(createPrivateKey(privateKey)).export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  return { outDir: out, files };
}
