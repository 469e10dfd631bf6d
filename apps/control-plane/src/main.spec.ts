import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgramToExit, startProgram } from '@reelmesh/http-kit/testing';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { createCa } from '@reelmesh/mesh';
import { signPolicyDirectory } from '@reelmesh/provenance';
import { REPO_ROOT } from '@reelmesh/policy';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { CONTROL_PLANE } from './index';

const TD = 'reelmesh.local';

describe('the control plane as a process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rm-cp-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('announces the endpoint it bound on a 0600 Unix socket and serves the API there', async () => {
    const socket = join(dir, 'cp.sock');
    const cp = await startProgram(CONTROL_PLANE.main, ['--listen', `unix:${socket}`, '--dir', join(dir, 'ca')], { REELMESH_CP_ADMIN_TOKEN: 'admin-secret-for-test' });
    try {
      expect(cp.ready).toMatchObject({ event: 'ready', service: 'control-plane', pid: cp.child.pid, endpoints: { api: `unix:${socket}` }, details: { trustDomain: TD } });
      expect(cp.ready.details).not.toHaveProperty('adminToken');
      expect((await stat(socket)).mode & 0o777).toBe(0o600);
      const admin = new ControlPlaneClient({ url: cp.ready.endpoints.api, token: 'admin-secret-for-test' });
      const { token } = await admin.enroll({ actor: 'hdr', agent: 'hdr' });
      admin.close();
      const hdr = new ControlPlaneClient({ url: cp.ready.endpoints.api, token });
      expect((await hdr.fetchSvid()).spiffeId).toBe(`spiffe://${TD}/ns/hdr/sa/hdr`);
      hdr.close();
    } finally {
      expect(await cp.stop()).toBe(0);
    }
  });

  it('binds port 0 by default and hands out a generated admin token only in its ready line', async () => {
    const cp = await startProgram(CONTROL_PLANE.main, [], { REELMESH_CP_ADMIN_TOKEN: '' });
    try {
      expect(cp.ready.endpoints.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const token = cp.ready.details?.adminToken as string;
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const admin = new ControlPlaneClient({ url: cp.ready.endpoints.api, token });
      expect(await admin.list()).toEqual([]);
      admin.close();
    } finally {
      await cp.stop();
    }
  });

  it('refuses a bad configuration with one error line and exit 1', async () => {
    const run = await runProgramToExit(CONTROL_PLANE.main, ['--audit-dir', join(dir, 'audit')]);
    expect(run.code).toBe(1);
    expect(run.errorLine).toMatchObject({ service: 'control-plane', code: 'CONFIG_INVALID', message: '--audit-dir needs --audit-workflow and --audit-owner-actor' });
    expect(run.stdout).toBe('');
  });

  it('refuses to start on a corrupt state file in --dir with one error line naming it, and leaves the file', async () => {
    const caDir = join(dir, 'corrupt');
    await mkdir(caDir, { mode: 0o700 });
    const state = join(caDir, 'control-plane-state.json');
    await writeFile(state, 'not json', { mode: 0o600 });
    const run = await runProgramToExit(CONTROL_PLANE.main, ['--dir', caDir], { REELMESH_CP_ADMIN_TOKEN: 'admin-secret-for-test' });
    expect(run.code).toBe(1);
    expect(run.errorLine).toMatchObject({ service: 'control-plane', code: 'STATE_CORRUPT', message: expect.stringContaining(`control plane state ${state} is corrupt`) });
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readFile(state, 'utf8')).toBe('not json');
  });

  it('issues from an existing CA (--ca-cert/--ca-key), knows callers by mesh identity, and holds --bundle as the policy in force', async () => {
    const caDir = join(dir, 'certs-ca');
    const ca = await createCa({ trustDomain: TD, dir: caDir });
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bundleKey = join(dir, 'owner-bundle.pub.pem');
    await writeFile(bundleKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const bundle = join(dir, 'reelmesh.tar.gz');
    await writeFile(bundle, signPolicyDirectory({ policyDir: join(REPO_ROOT, 'policies/reelmesh'), privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), revision: 7 }).archive);
    const args = ['--mesh-identity', '--ca-cert', join(caDir, 'ca-cert.pem'), '--ca-key', join(caDir, 'ca-key.pem'), '--bundle-key', bundleKey, '--bundle', bundle];
    const cp = await startProgram(CONTROL_PLANE.main, args, { REELMESH_CP_ADMIN_TOKEN: 'admin-secret-for-test' });
    try {
      const url = cp.ready.endpoints.api;
      const post = (path: string, headers: Record<string, string>) => fetch(`${url}${path}`, { method: 'POST', headers });
      const svid = await post('/v1/svid', { 'x-forwarded-client-cert': `By=spiffe://${TD}/ns/owner/sa/control-plane;URI=spiffe://${TD}/ns/hdr/sa/hdr` });
      expect(svid.status).toBe(200);
      const { spiffeId, certPem } = (await svid.json()) as { spiffeId: string; certPem: string };
      expect(spiffeId).toBe(`spiffe://${TD}/ns/hdr/sa/hdr`);
      expect(new X509Certificate(certPem).verify(new X509Certificate(ca.bundlePem).publicKey)).toBe(true);
      expect((await post('/v1/svid', {})).status).toBe(401);
      const policy = await fetch(`${url}/v1/policy`, { headers: { 'x-forwarded-client-cert': `URI=spiffe://${TD}/ns/owner/sa/owner` } });
      expect(await policy.json()).toMatchObject({ signed: true, bundle: { revision: '7' } });
    } finally {
      expect(await cp.stop()).toBe(0);
    }
  });

  it('refuses a CA key that is not the certificate\'s, and half a CA, with one error line', async () => {
    const a = join(dir, 'ca-a');
    const b = join(dir, 'ca-b');
    await createCa({ trustDomain: TD, dir: a });
    await createCa({ trustDomain: TD, dir: b });
    const mismatch = await runProgramToExit(CONTROL_PLANE.main, ['--ca-cert', join(a, 'ca-cert.pem'), '--ca-key', join(b, 'ca-key.pem')]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.errorLine).toMatchObject({ code: 'CONFIG_INVALID', message: `--ca-key ${join(b, 'ca-key.pem')} is not the key of --ca-cert ${join(a, 'ca-cert.pem')}` });
    const otherDomain = await runProgramToExit(CONTROL_PLANE.main, ['--trust-domain', 'other.local', '--ca-cert', join(a, 'ca-cert.pem'), '--ca-key', join(a, 'ca-key.pem')]);
    expect(otherDomain.errorLine).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('is not the CA of trust domain other.local') });
    const half = await runProgramToExit(CONTROL_PLANE.main, ['--ca-cert', join(a, 'ca-cert.pem')]);
    expect(half.errorLine).toMatchObject({ code: 'CONFIG_INVALID', message: '--ca-cert and --ca-key go together' });
  });
});
