import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestCa, mintSvidVariants } from '@reelmesh/workload-identity/testing';
import { loadSigningIdentity } from './signing-identity';

// File mode (dev CA, Compose): the signing certificate is checked against the signing rules when
// the agent starts, so a TLS-only certificate fails there, not at the first record it signs.

const ID = 'spiffe://reelmesh.test/ns/owner/sa/owner';
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-signing-identity-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function filesFor(svid: { keyPem: string; chainPem: string }, bundlePem: string) {
  const paths = { key: join(dir, 'key.pem'), chain: join(dir, 'chain.pem'), bundle: join(dir, 'bundle.pem') };
  await Promise.all([writeFile(paths.key, svid.keyPem), writeFile(paths.chain, svid.chainPem), writeFile(paths.bundle, bundlePem)]);
  return { REELMESH_SIGNING_KEY: paths.key, REELMESH_SIGNING_CHAIN: paths.chain, REELMESH_TRUST_BUNDLE: paths.bundle };
}

describe('loadSigningIdentity from files', () => {
  it('takes an SVID that may sign, and refuses a TLS-only one at start-up naming the rule', async () => {
    const ca = await createTestCa({ trustDomain: 'reelmesh.test' });
    const good = await loadSigningIdentity(await filesFor(await ca.issue({ spiffeId: ID }), ca.bundlePem));
    expect(good?.signer().spiffeId).toBe(ID);

    const tlsOnly = (await mintSvidVariants(ca, ID)).find((v) => v.refusedFor.length === 1 && v.refusedFor[0] === 'signing')!;
    await expect(loadSigningIdentity(await filesFor(tlsOnly.svid, ca.bundlePem))).rejects.toThrow(/chain\.pem: this certificate cannot sign provenance: .*codeSigning.*\[extended-key-usage\]/);
  });
});
