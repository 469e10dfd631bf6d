import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicyBundle, packBundle, signBundle, unpackBundle } from '@reelmesh/provenance';
import { loadPolicyData, REPO_ROOT } from './files';
import { startPolicySidecar, type PolicySidecar } from './server';
import type { PolicyInput } from './types';

const data = loadPolicyData();
const rego = readFileSync(join(REPO_ROOT, 'policies/reelmesh/authz/authz.rego'), 'utf8');
const allowedInput = JSON.parse(readFileSync(join(REPO_ROOT, 'libs/policy/fixtures/input-allowed.json'), 'utf8')) as PolicyInput;
const TOKEN = 'control-plane-token';

type Keys = { publicKey: string; privateKey: string };
const ecKeys = (): Keys =>
  generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
let owner: Keys;
let other: Keys;
beforeAll(() => {
  owner = ecKeys();
  other = ecKeys();
});

let sidecar: PolicySidecar | undefined;
afterEach(async () => {
  await sidecar?.stop();
  sidecar = undefined;
});

/** A bundle of the real policy; `edit` lets a test loosen it (e.g. allow an extra edge). */
function bundle(revision: number, signer = owner, doc: unknown = data): Buffer {
  const files = buildPolicyBundle({ data: { reelmesh: doc }, rego: { 'reelmesh/authz/authz.rego': rego }, revision });
  return packBundle(signBundle(files, { privateKey: signer.privateKey, keyId: 'owner' }));
}
const start = (initial?: Buffer) =>
  startPolicySidecar({ bundleKey: { publicKeyPem: owner.publicKey, keyId: 'owner' }, bundle: initial, updateToken: TOKEN });

async function allowed(s: PolicySidecar): Promise<unknown> {
  const res = await fetch(`${s.url}/v1/data/reelmesh/authz/allow`, { method: 'POST', body: JSON.stringify({ input: allowedInput }) });
  return ((await res.json()) as { result?: unknown }).result;
}
async function put(s: PolicySidecar, archive: Buffer) {
  const res = await fetch(`${s.url}/v1/bundle`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: archive });
  return { status: res.status, body: (await res.json()) as { revision?: string; error?: { code: string; message: string } } };
}

describe('policy sidecar in signed-policy mode', () => {
  it('loads a signed bundle at start and answers from it', async () => {
    sidecar = await start(bundle(1));
    expect(sidecar.revision).toBe('1');
    expect(await allowed(sidecar)).toBe(true);
    expect((await fetch(`${sidecar.url}/health`)).status).toBe(200);
  });

  it('refuses unsigned data pushes', async () => {
    sidecar = await start(bundle(1));
    const res = await fetch(`${sidecar.url}/v1/data/reelmesh`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(data) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('unsigned policy data is refused');
  });

  it('refuses a modified, re-keyed, unsigned or older bundle and keeps the last good policy', async () => {
    sidecar = await start(bundle(2));
    const modified = unpackBundle(bundle(3));
    const loosened = { ...data, extra: true };
    modified.set('reelmesh/data.json', Buffer.from(JSON.stringify(loosened)));
    expect(await put(sidecar, packBundle(modified))).toMatchObject({ status: 400, body: { error: { code: 'BUNDLE_FILE_MODIFIED' } } });
    expect(await put(sidecar, bundle(3, other))).toMatchObject({ status: 400, body: { error: { code: 'BUNDLE_SIGNATURE_INVALID' } } });
    const unsigned = unpackBundle(bundle(3));
    unsigned.delete('.signatures.json');
    expect(await put(sidecar, packBundle(unsigned))).toMatchObject({ status: 400, body: { error: { code: 'BUNDLE_UNSIGNED' } } });
    expect(await put(sidecar, bundle(1))).toMatchObject({ status: 409, body: { error: { code: 'BUNDLE_REVISION_REPLAYED' } } });
    expect(await put(sidecar, bundle(2))).toMatchObject({ status: 409, body: { error: { message: expect.stringContaining('already loaded') } } });
    expect(sidecar.revision).toBe('2');
    expect(await allowed(sidecar)).toBe(true);
  });

  it('takes a newer signed bundle', async () => {
    sidecar = await start(bundle(2));
    expect(await put(sidecar, bundle(5))).toEqual({ status: 200, body: { revision: '5' } });
    expect(sidecar.revision).toBe('5');
  });

  it('denies everything when the only bundle it got is refused', async () => {
    sidecar = await start(bundle(1, other));
    expect(sidecar.startupBundleError).toContain('does not verify');
    expect(await allowed(sidecar)).toBe(false);
    expect((await fetch(`${sidecar.url}/health`)).status).toBe(503);
  });

  it('requires the update token to push a bundle', async () => {
    sidecar = await start();
    const res = await fetch(`${sidecar.url}/v1/bundle`, { method: 'PUT', body: bundle(1) });
    expect(res.status).toBe(401);
    expect(await allowed(sidecar)).toBe(false);
  });
});
