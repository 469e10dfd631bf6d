// `reelmesh certs` issues, from the project's CA, one SVID per agent carrying exactly its SPIFFE id,
// private keys and KMS secrets private to the user, and a principals file the local KMS accepts.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '@reelmesh/provenance';
import { spiffeId } from '@reelmesh/workflow';
import { issueComposeCerts } from './certs';
import { REPO_ROOT, workflow } from './test-support';

const POLICY_DIR = `${REPO_ROOT}policies/reelmesh`;

const wf = workflow();
const dir = mkdtempSync(join(tmpdir(), 'reelmesh-certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('issueComposeCerts', () => {
  it('issues a CA-signed SVID per agent with its SPIFFE id, keys 0600, and KMS credentials', async () => {
    const issued = await issueComposeCerts(wf, { outDir: dir, ttlHours: 2, policyDir: POLICY_DIR });
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const principals = JSON.parse(readFileSync(join(dir, 'kms/principals.json'), 'utf8')) as Record<string, { principal: string; secretAccessKey: string }>;
    expect(statSync(join(dir, 'kms/principals.json')).mode & 0o077).toBe(0);
    for (const agent of wf.agents) {
      const leaf = new X509Certificate(readFileSync(join(dir, agent.name, 'cert.pem')));
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.subjectAltName).toBe(`URI:${spiffeId(wf, agent.name)}`);
      expect(new Date(leaf.validTo).getTime() - Date.now()).toBeLessThanOrEqual(2 * 3600 * 1000);
      expect(statSync(join(dir, agent.name, 'key.pem')).mode & 0o077).toBe(0);
      const env = Object.fromEntries(
        readFileSync(join(dir, agent.name, 'kms.env'), 'utf8').trim().split('\n').map((line) => line.split('=', 2) as [string, string]),
      );
      expect(principals[env.REELMESH_KMS_ACCESS_KEY_ID]).toEqual({ principal: `agent/${agent.name}`, secretAccessKey: env.REELMESH_KMS_SECRET_ACCESS_KEY });
    }
    expect(issued.files).toContain('kms/principals.json');
  });

  it('rejects a nonsensical lifetime before writing anything', async () => {
    const empty = join(dir, 'never');
    await expect(issueComposeCerts(wf, { outDir: empty, ttlHours: -1, policyDir: POLICY_DIR })).rejects.toThrow(/ttl/);
    expect(() => statSync(empty)).toThrow();
  });

  it("signs the policy bundle with the owner's key (kept 0600, reused), a newer revision on every run", async () => {
    const out = join(dir, 'bundle');
    await issueComposeCerts(wf, { outDir: out, policyDir: POLICY_DIR, revision: 100 });
    expect(statSync(join(out, 'owner/bundle-key.pem')).mode & 0o077).toBe(0);
    const publicKey = readFileSync(join(out, 'policy/owner-bundle.pub.pem'), 'utf8');
    const first = verifyBundle(readFileSync(join(out, 'policy/reelmesh.tar.gz')), publicKey, { keyId: 'owner' });
    expect(first.revision).toBe('100');
    // What OPA will enforce: exactly the generated policy data of this workflow.
    expect(first.data.reelmesh).toEqual(JSON.parse(readFileSync(join(POLICY_DIR, 'data.json'), 'utf8')));
    await issueComposeCerts(wf, { outDir: out, policyDir: POLICY_DIR, revision: 101 });
    expect(readFileSync(join(out, 'policy/owner-bundle.pub.pem'), 'utf8')).toBe(publicKey);
    const second = verifyBundle(readFileSync(join(out, 'policy/reelmesh.tar.gz')), publicKey, { keyId: 'owner', minRevision: first.revision });
    expect(second.revision).toBe('101');
    expect(() => verifyBundle(readFileSync(join(out, 'policy/reelmesh.tar.gz')), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toThrow(/does not verify/);
  });
});
