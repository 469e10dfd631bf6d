import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPolicyDirectory } from '@reelmesh/provenance';
import { POLICY_DATA, startLocalRuntime, type LocalRuntime } from '@reelmesh/runtime';
import { accessMatrix } from '@reelmesh/workflow';
import { verifyMatrix } from '../src/verify-matrix';

/** Issue #8 §3 on the running mesh: policy sidecars load only the owner's signed bundles. */
describe('signed policies in the running mesh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-signed-'));
  let runtime: LocalRuntime;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ dataRoot: join(dir, 'data'), stateDir: join(dir, 'state'), exportDir: dir, ingestDir: dir, encryption: false });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = async (path: string, body: Buffer | string, type: string) => {
    const cp = runtime.controlPlane!;
    const res = await fetch(`${cp.adminUrl}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': type },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    return (await res.json()) as { pushed: Array<{ agent: string; ok: boolean; status?: number }> };
  };

  it('refuses an unsigned allow-everything document pushed through the store, and keeps the policy', async () => {
    const allowAll = JSON.stringify({ edges: {}, anything: 'goes' });
    const { pushed } = await publish('/v1/policy', allowAll, 'application/json');
    expect(pushed).toHaveLength(7);
    for (const p of pushed) expect(p).toMatchObject({ ok: false, status: 403 });
    const report = await verifyMatrix(runtime);
    expect(report.unexpectedAllows + report.unexpectedDenies).toBe(0);
    expect(report.allowed).toBe(accessMatrix(runtime.workflow).length);
  }, 120_000);

  it('refuses a bundle signed by another key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { archive } = signPolicyDirectory({
      policyDir: dirname(POLICY_DATA),
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyId: 'owner',
      revision: Date.now() + 1_000_000,
    });
    const { pushed } = await publish('/v1/policy/bundle', archive, 'application/gzip');
    for (const p of pushed) expect(p).toMatchObject({ ok: false, status: 400 });
    const report = await verifyMatrix(runtime);
    expect(report.unexpectedAllows + report.unexpectedDenies).toBe(0);
  }, 120_000);
});
