// `reelmesh certs` issues, from the project's CA, one SVID per pod (each agent, the control plane)
// carrying exactly its SPIFFE id, private keys and KMS secrets private to the user, and a principals
// file the local KMS accepts; `--renew` re-issues the SVIDs from the same CA, swapped in atomically.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LEDGER_AGENT, verifyBundle } from '@reelmesh/provenance';
import { spiffeId } from '@reelmesh/workflow';
import { CERTS_LAYOUT, issueComposeCerts, parseLifetime } from './certs';
import { controlPlaneSpiffeId } from './compose/envoy-config';
import { CONTROL_PLANE_NAME } from './settings';
import { REPO_ROOT, workflow } from './test-support';

const POLICY_DIR = `${REPO_ROOT}policies/reelmesh`;

const wf = workflow();
const dir = mkdtempSync(join(tmpdir(), 'reelmesh-certs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('issueComposeCerts', () => {
  const pods = [...wf.agents.map((agent) => ({ name: agent.name, id: spiffeId(wf, agent.name), principal: agent.name })), { name: CONTROL_PLANE_NAME, id: controlPlaneSpiffeId(wf), principal: LEDGER_AGENT }];
  const current = (out: string, pod: string, file: string) => join(out, CERTS_LAYOUT.envoyDir(pod), 'current', file);

  it('issues a CA-signed SVID per pod (agents, control plane) with its SPIFFE id, keys 0600, and KMS credentials', async () => {
    const issued = await issueComposeCerts(wf, { outDir: dir, ttlHours: 2, policyDir: POLICY_DIR });
    const ca = new X509Certificate(readFileSync(join(dir, CERTS_LAYOUT.caCert)));
    const principals = JSON.parse(readFileSync(join(dir, CERTS_LAYOUT.principals), 'utf8')) as Record<string, { principal: string; secretAccessKey: string }>;
    expect(statSync(join(dir, CERTS_LAYOUT.principals)).mode & 0o077).toBe(0);
    expect(statSync(join(dir, CERTS_LAYOUT.caKey)).mode & 0o077).toBe(0);
    for (const pod of pods) {
      const leaf = new X509Certificate(readFileSync(current(dir, pod.name, 'cert.pem')));
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.subjectAltName).toBe(`URI:${pod.id}`);
      expect(new Date(leaf.validTo).getTime() - Date.now()).toBeLessThanOrEqual(2 * 3600 * 1000);
      // The reported expiry is the earliest of the leaves (X.509 times are whole seconds).
      expect(issued.notAfter.getTime()).toBeLessThanOrEqual(new Date(leaf.validTo).getTime() + 999);
      expect(statSync(current(dir, pod.name, 'key.pem')).mode & 0o077).toBe(0);
      expect(readFileSync(current(dir, pod.name, 'ca.pem'), 'utf8')).toBe(readFileSync(join(dir, CERTS_LAYOUT.caCert), 'utf8'));
      const env = Object.fromEntries(
        readFileSync(join(dir, CERTS_LAYOUT.kmsEnv(pod.name)), 'utf8').trim().split('\n').map((line) => line.split('=', 2) as [string, string]),
      );
      expect(principals[env.REELMESH_KMS_ACCESS_KEY_ID]).toEqual({ principal: `agent/${pod.principal}`, secretAccessKey: env.REELMESH_KMS_SECRET_ACCESS_KEY });
    }
    expect(issued.files).toContain(CERTS_LAYOUT.principals);
  });

  it('--renew: new leaves with a later notAfter from the same CA, swapped in by one link rename; credentials and bundle untouched', async () => {
    const out = join(dir, 'renew');
    await expect(issueComposeCerts(wf, { outDir: out, policyDir: POLICY_DIR, renew: true })).rejects.toThrow(/no CA/);
    const first = await issueComposeCerts(wf, { outDir: out, ttlHours: 2, policyDir: POLICY_DIR, revision: 1 });
    const snapshot = (rel: string) => readFileSync(join(out, rel), 'utf8');
    const before = { ca: snapshot(CERTS_LAYOUT.caCert), caKey: snapshot(CERTS_LAYOUT.caKey), principals: snapshot(CERTS_LAYOUT.principals), bundle: snapshot(CERTS_LAYOUT.policyBundle) };
    const leaves = Object.fromEntries(pods.map((pod) => [pod.name, { cert: new X509Certificate(readFileSync(current(out, pod.name, 'cert.pem'))), link: readlinkSync(join(out, CERTS_LAYOUT.envoyDir(pod.name), 'current')) }]));
    const renewed = await issueComposeCerts(wf, { outDir: out, ttlHours: 3, policyDir: POLICY_DIR, renew: true });
    expect(renewed.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
    expect({ ca: snapshot(CERTS_LAYOUT.caCert), caKey: snapshot(CERTS_LAYOUT.caKey), principals: snapshot(CERTS_LAYOUT.principals), bundle: snapshot(CERTS_LAYOUT.policyBundle) }).toEqual(before);
    const ca = new X509Certificate(before.ca);
    for (const pod of pods) {
      const folder = join(out, CERTS_LAYOUT.envoyDir(pod.name));
      const leaf = new X509Certificate(readFileSync(current(out, pod.name, 'cert.pem')));
      expect(leaf.verify(ca.publicKey), pod.name).toBe(true);
      expect(leaf.subjectAltName).toBe(`URI:${pod.id}`);
      expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(new Date(leaves[pod.name].cert.validTo).getTime());
      expect(leaf.serialNumber).not.toBe(leaves[pod.name].cert.serialNumber);
      // `current` is a relative link (it resolves inside the container too) to a new generation; the one before stays.
      expect(lstatSync(join(folder, 'current')).isSymbolicLink()).toBe(true);
      const link = readlinkSync(join(folder, 'current'));
      expect(link).not.toContain('/');
      expect(link).not.toBe(leaves[pod.name].link);
      expect(readdirSync(folder).sort()).toEqual([leaves[pod.name].link, link, 'current'].sort());
    }
    // A third generation: the oldest goes.
    await issueComposeCerts(wf, { outDir: out, ttlHours: 3, policyDir: POLICY_DIR, renew: true });
    for (const pod of pods) expect(readdirSync(join(out, CERTS_LAYOUT.envoyDir(pod.name)))).not.toContain(leaves[pod.name].link);
  });

  it("moves the owner's bundle key out of the folder an earlier version kept it in (an agent's folder)", async () => {
    const out = join(dir, 'legacy');
    const legacy = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    mkdirSync(join(out, 'owner'), { recursive: true });
    writeFileSync(join(out, 'owner/bundle-key.pem'), legacy.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    await issueComposeCerts(wf, { outDir: out, policyDir: POLICY_DIR, revision: 1 });
    expect(existsSync(join(out, 'owner/bundle-key.pem'))).toBe(false);
    expect(readFileSync(join(out, CERTS_LAYOUT.policyPublicKey), 'utf8')).toBe(legacy.publicKey.export({ type: 'spki', format: 'pem' }));
  });

  it('reads a lifetime as hours or minutes', () => {
    expect(parseLifetime('24h')).toBe(24);
    expect(parseLifetime('90m')).toBe(1.5);
    expect(parseLifetime('12')).toBe(12);
    expect(() => parseLifetime('1d')).toThrow(/lifetime/);
  });

  it('rejects a nonsensical lifetime before writing anything', async () => {
    const empty = join(dir, 'never');
    await expect(issueComposeCerts(wf, { outDir: empty, ttlHours: -1, policyDir: POLICY_DIR })).rejects.toThrow(/ttl/);
    expect(() => statSync(empty)).toThrow();
  });

  it("signs the policy bundle with the owner's key (kept 0600, reused), a newer revision on every run", async () => {
    const out = join(dir, 'bundle');
    await issueComposeCerts(wf, { outDir: out, policyDir: POLICY_DIR, revision: 100 });
    expect(statSync(join(out, CERTS_LAYOUT.ownerSigningKey)).mode & 0o077).toBe(0);
    const publicKey = readFileSync(join(out, CERTS_LAYOUT.policyPublicKey), 'utf8');
    const first = verifyBundle(readFileSync(join(out, CERTS_LAYOUT.policyBundle)), publicKey, { keyId: 'owner' });
    expect(first.revision).toBe('100');
    // What OPA will enforce: exactly the generated policy data of this workflow.
    expect(first.data.reelmesh).toEqual(JSON.parse(readFileSync(join(POLICY_DIR, 'data.json'), 'utf8')));
    await issueComposeCerts(wf, { outDir: out, policyDir: POLICY_DIR, revision: 101 });
    expect(readFileSync(join(out, CERTS_LAYOUT.policyPublicKey), 'utf8')).toBe(publicKey);
    const second = verifyBundle(readFileSync(join(out, CERTS_LAYOUT.policyBundle)), publicKey, { keyId: 'owner', minRevision: first.revision });
    // Only the public half is in the folder OPA mounts.
    expect(readdirSync(join(out, CERTS_LAYOUT.policyDir)).sort()).toEqual(['owner-bundle.pub.pem', 'reelmesh.tar.gz']);
    expect(second.revision).toBe('101');
    expect(() => verifyBundle(readFileSync(join(out, CERTS_LAYOUT.policyBundle)), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)).toThrow(/does not verify/);
  });
});
