import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDeployFiles } from '@reelmesh/deploy';
import { signPolicyDirectory } from '@reelmesh/provenance';
import { request } from '@reelmesh/http-kit';
import { POLICY_DIR, startLocalRuntime, type LocalRuntime } from '@reelmesh/runtime';
import { accessMatrix } from '@reelmesh/workflow';
import { verifyMatrix } from '../src/verify-matrix';

/** Issue #8 §3 on the running mesh: the policy store and the sidecars take only the owner's signed bundles. */
describe('signed policies in the running mesh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-signed-'));
  let runtime: LocalRuntime;
  const ownerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      dataRoot: join(dir, 'data'), stateDir: join(dir, 'state'), exportDir: dir, ingestDir: dir, encryption: false,
      // The owner brings its own bundle-signing key (the test keeps it to sign bundles of its own).
      meshOptions: { policyKeyPem: ownerKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
  }, 120_000);
  afterAll(async () => {
    await runtime?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const publish = async (path: string, body: Buffer | string, type: string) => {
    const cp = runtime.controlPlane!;
    const res = await request(cp.admin.url, path, {
      method: 'PUT',
      headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': type },
      body: Buffer.from(body),
    });
    return { status: res.status, body: res.json<{ pushed?: Array<{ agent: string; ok: boolean }>; error?: { code: string; message: string } }>()! };
  };
  const signedWith = (privateKey: KeyObject, revision: number) =>
    signPolicyDirectory({
      policyDir: POLICY_DIR,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      keyId: 'owner',
      revision,
    }).archive;
  const matrixUnchanged = async () => {
    const report = await verifyMatrix(runtime);
    expect(report.unexpectedAllows + report.unexpectedDenies).toBe(0);
    expect(report.allowed).toBe(accessMatrix(runtime.workflow).length);
  };

  it("every agent runs with its image's node flags (the GC setting measured for chunk streaming)", () => {
    const images = new Map(renderDeployFiles(runtime.workflow).map((file) => [file.path, file.content]));
    for (const agent of Object.values(runtime.agents)) {
      const argv = readFileSync(`/proc/${agent.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(images.get(`docker/${agent.app}.Dockerfile`)!)![1]) as string[];
      // node, its flags, then the program (its bundle, or tsx and its source): the same flags in the local run as in the image.
      const flags = entrypoint.slice(1, -1);
      expect(flags.length).toBeGreaterThan(0);
      expect(argv.slice(1, 1 + flags.length)).toEqual(flags);
      expect(argv.slice(1 + flags.length).join(' ')).toMatch(new RegExp(`/${agent.app}/(src/)?main\\.(cjs|ts)$`));
    }
  });

  it('the policy store refuses an unsigned allow-everything document; nothing is pushed, decisions unchanged', async () => {
    const res = await publish('/v1/policy', JSON.stringify({ edges: {}, anything: 'goes' }), 'application/json');
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'SIGNED_POLICY_ONLY' });
    await matrixUnchanged();
  }, 120_000);

  it('the policy store refuses a bundle signed by another key, and a garbage one', async () => {
    const foreign = await publish('/v1/policy/bundle', signedWith(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, Date.now() + 1_000_000), 'application/gzip');
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toMatchObject({ code: 'BUNDLE_SIGNATURE_INVALID', message: expect.stringContaining("does not verify with the owner's key") });
    expect((await publish('/v1/policy/bundle', 'not a bundle', 'application/gzip')).status).toBe(400);
    await matrixUnchanged();
  }, 120_000);

  it('the policy store refuses a replayed older revision the owner really signed, and takes a newer one', async () => {
    // An insider replays a bundle the owner signed long ago (revision 1, superseded at start-up).
    const replayed = await publish('/v1/policy/bundle', signedWith(ownerKey, 1), 'application/gzip');
    expect(replayed.status).toBe(409);
    expect(replayed.body.error).toMatchObject({ code: 'BUNDLE_REVISION_REPLAYED' });
    await matrixUnchanged();
    // The owner's own newer bundle goes through the store to every sidecar.
    const newer = await publish('/v1/policy/bundle', signedWith(ownerKey, Date.now() + 10_000), 'application/gzip');
    expect(newer.status).toBe(200);
    expect(newer.body.pushed).toHaveLength(runtime.workflow.agents.length); // one policy sidecar per agent
    for (const p of newer.body.pushed!) expect(p).toMatchObject({ ok: true });
    await matrixUnchanged();
  }, 120_000);
});
