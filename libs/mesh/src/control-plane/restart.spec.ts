import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, loadPolicyData, startPolicySidecar, type PolicySidecar } from '@reelmesh/policy';
import { buildPolicyBundle, packBundle, signBundle } from '@reelmesh/provenance';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { startControlPlane, type ControlPlane } from './server';
import { STATE_FILE } from './state';

// The supervisor brings a killed control plane back on the same endpoint with the same flags: the
// pods it knew must find it as they left it (their tokens, the registry, the policy, the sidecars
// it pushes to), from the state file in its directory.

const TD = 'reelmesh.local';
const ADMIN = 'admin-token-given-by-the-runtime';
const rego = readFileSync(join(REPO_ROOT, 'policies/reelmesh/authz/authz.rego'), 'utf8');
const owner = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const bundleKey = { publicKeyPem: owner.publicKey, keyId: 'owner' };

/** The owner's signed bundle of the real policy. */
const bundle = (revision: string) =>
  packBundle(signBundle(buildPolicyBundle({ data: { reelmesh: loadPolicyData() }, rego: { 'reelmesh/authz/authz.rego': rego }, revision }), { privateKey: owner.privateKey, keyId: 'owner' }));

/** A real policy sidecar in signed mode, waiting for the control plane's pushes with `token`. */
const sidecarWith = (token: string) => startPolicySidecar({ bundleKey, updateToken: token });

describe('a control plane started again on the same directory', () => {
  let dir: string;
  const open: Array<{ close(): unknown } | { stop(): unknown }> = [];
  /** One control plane at a time on the directory, as under the supervisor. */
  let running: ControlPlane | undefined;
  const start = async () => {
    await running?.close();
    running = await startControlPlane({ trustDomain: TD, dir, adminToken: ADMIN, policyBundleKey: bundleKey });
    return running;
  };
  const client = (cp: ControlPlane, token: string) => {
    const c = new ControlPlaneClient({ url: cp.url, token });
    open.push(c);
    return c;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelmesh-cp-restart-'));
  });
  afterAll(async () => {
    for (const o of open.reverse()) await ('close' in o ? o.close() : o.stop());
    await running?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps enrolments, the registry, the policy in force and the sidecars it pushes to', async () => {
    const first = await start();
    const admin = client(first, ADMIN);
    const vfxToken = (await admin.enroll({ actor: 'vfx', agent: 'vfx-1' })).token;
    const ownerToken = first.enroll({ actor: 'owner', agent: 'owner' }).token;
    const vfx = client(first, vfxToken);
    const entry = await vfx.register({ agent: 'vfx-1', host: '127.0.0.1', port: 9443 });
    const sidecar: PolicySidecar = await sidecarWith('update-token-1');
    open.push(sidecar);
    expect(await vfx.registerPolicySidecar('vfx-1', { url: sidecar.url, token: 'update-token-1' })).toEqual({ agent: 'vfx-1', revision: 0 });
    await admin.publishBundle(bundle('41'));
    expect(sidecar.revision).toBe('41');
    const inForce = await vfx.policy();
    await first.close();
    running = undefined;

    // Kept 0600, with the bootstrap tokens only as hashes; the sidecar's update token is stored (it is needed to push).
    const statePath = join(dir, STATE_FILE);
    expect((await stat(statePath)).mode & 0o777).toBe(0o600);
    const text = await readFile(statePath, 'utf8');
    expect(text).not.toContain(vfxToken);
    expect(text).not.toContain(ownerToken);
    expect(text).toContain('update-token-1');

    const second = await start();
    const vfxAgain = client(second, vfxToken);
    expect((await vfxAgain.fetchSvid()).spiffeId).toBe(`spiffe://${TD}/ns/vfx/sa/vfx-1`);
    expect((await client(second, ownerToken).fetchSvid()).spiffeId).toBe(`spiffe://${TD}/ns/owner/sa/owner`);
    expect(await vfxAgain.lookup('vfx-1')).toEqual(entry);
    expect(await vfxAgain.policy()).toEqual(inForce);
    // The bundle revision still only goes up, and a new one reaches the sidecar registered before the restart.
    const adminAgain = client(second, ADMIN);
    await expect(adminAgain.publishBundle(bundle('41'))).rejects.toMatchObject({ status: 409 });
    expect(await adminAgain.publishBundle(bundle('42'))).toMatchObject({ revision: inForce.revision + 1, pushed: [{ agent: 'vfx-1', ok: true, status: 200 }] });
    expect(sidecar.revision).toBe('42');
  });

  it('pushes at once to a restarted sidecar that registers again, with a new update token or the same one', async () => {
    const cp = await start();
    const admin = client(cp, ADMIN);
    const pod = client(cp, (await admin.enroll({ actor: 'color', agent: 'color' })).token);
    for (const token of ['token-after-restart', 'token-after-restart']) {
      // A sidecar restarted after a kill -9 comes back empty: it holds a policy again only by this push.
      const restarted = await sidecarWith(token);
      open.push(restarted);
      expect(restarted.revision).toBeUndefined();
      const answer = await pod.registerPolicySidecar('color', { url: restarted.url, token });
      expect(answer).toMatchObject({ agent: 'color', pushed: { ok: true, status: 200 } });
      expect(restarted.revision).toBe('42');
    }
  });

  it('refuses to start on a corrupt state file, naming it, and leaves it in place', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'reelmesh-cp-corrupt-'));
    try {
      const path = join(broken, STATE_FILE);
      await writeFile(path, '{"version":1,"trustDomain":"reelmesh.local","enrolments":[{"tokenSha256":', { mode: 0o600 });
      await expect(startControlPlane({ trustDomain: TD, dir: broken })).rejects.toMatchObject({ code: 'STATE_CORRUPT', message: expect.stringContaining(`control plane state ${path} is corrupt`) });
      expect(await readFile(path, 'utf8')).toContain('"enrolments"');
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});
