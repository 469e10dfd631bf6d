import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa } from './ca';
import { checkSvid, parseTrustBundle, splitPem, SvidSource } from '@reelmesh/workload-identity';

const TD = 'reelmesh.local';
const COLOR = `spiffe://${TD}/ns/color/sa/color`;

describe('mesh CA', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('takes a root made elsewhere as PEMs and issues under it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reelmesh-ca-'));
    dirs.push(dir);
    const made = await createCa({ trustDomain: TD, dir });
    const { readFile } = await import('node:fs/promises');
    const root = { certPem: await readFile(join(dir, 'ca-cert.pem'), 'utf8'), keyPem: await readFile(join(dir, 'ca-key.pem'), 'utf8') };
    const ca = await createCa({ trustDomain: TD, root });
    expect(ca.bundlePem).toBe(made.bundlePem);
    const leaf = new X509Certificate((await ca.issue({ spiffeId: COLOR })).certPem);
    expect(leaf.checkIssued(new X509Certificate(made.bundlePem))).toBe(true);
    expect(leaf.verify(new X509Certificate(made.bundlePem).publicKey)).toBe(true);
  });

  it('issues an ECDSA P-256 X.509-SVID with the SPIFFE URI SAN, 1 h by default, chained to the root', async () => {
    const ca = await createCa({ trustDomain: TD });
    const svid = await ca.issue({ spiffeId: COLOR });
    const leaf = new X509Certificate(svid.certPem);
    const root = new X509Certificate(ca.bundlePem);

    expect(leaf.subjectAltName).toBe(`URI:${COLOR}`);
    expect(leaf.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    // serverAuth, clientAuth, codeSigning: one SVID for the pod's TLS and its app's signing.
    expect(leaf.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.3']);
    expect(leaf.ca).toBe(false);
    expect(root.ca).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    const lifetimeMs = new Date(leaf.validTo).getTime() - Date.now();
    expect(lifetimeMs).toBeGreaterThan(3590_000);
    expect(lifetimeMs).toBeLessThanOrEqual(3600_000);
    expect(svid.chainPem.startsWith(svid.certPem)).toBe(true);
    expect(svid.serialNumber.toUpperCase()).toBe(leaf.serialNumber.toUpperCase());
    // The key is the leaf's own and signs what the certificate's public key verifies.
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    expect(createPublicKey(createPrivateKey(svid.keyPem)).export({ format: 'jwk' })).toEqual(
      leaf.publicKey.export({ format: 'jwk' }),
    );
  });

  it('mints what every verifier accepts: the X.509-SVID profile for TLS client, TLS server and signing', async () => {
    const ca = await createCa({ trustDomain: TD });
    const svid = await ca.issue({ spiffeId: COLOR });
    const roots = parseTrustBundle(ca.bundlePem);
    // The root names its trust domain, so a verifier not told it still holds leaves to it.
    expect(roots[0].subjectAltName).toBe(`URI:spiffe://${TD}`);
    for (const use of ['tls-client', 'tls-server', 'signing'] as const) {
      expect(checkSvid(splitPem(svid.chainPem), roots, { use }).spiffeId).toBe(COLOR);
    }
  });

  it('refuses ids outside its trust domain and malformed ids', async () => {
    const ca = await createCa({ trustDomain: TD });
    await expect(ca.issue({ spiffeId: 'spiffe://evil.example/ns/color/sa/color' })).rejects.toThrow(/trust domain/);
    await expect(ca.issue({ spiffeId: `spiffe://${TD}/color` })).rejects.toThrow(/invalid SPIFFE id/);
    await expect(ca.issue({ spiffeId: COLOR, ttlSeconds: -5 })).rejects.toThrow(/ttlSeconds/);
  });

  it('persists its root in dir (key 0600) and reuses it on restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-ca-'));
    dirs.push(dir);
    const first = await createCa({ trustDomain: TD, dir });
    const again = await createCa({ trustDomain: TD, dir });
    expect(again.bundlePem).toBe(first.bundlePem);
    expect((await stat(join(dir, 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    const leaf = new X509Certificate((await again.issue({ spiffeId: COLOR })).certPem);
    expect(leaf.verify(new X509Certificate(first.bundlePem).publicKey)).toBe(true);
  });

  it('SvidSource rotates at half-life and emits the new SVID', async () => {
    const ca = await createCa({ trustDomain: TD });
    const source = await SvidSource.fromIssuer(ca, COLOR, 2);
    const first = source.current();
    const rotated = await new Promise<typeof first>((resolve) => source.once('rotated', resolve));
    source.stop();
    expect(rotated.serialNumber).not.toBe(first.serialNumber);
    expect(source.current()).toBe(rotated);
    expect(rotated.spiffeId).toBe(COLOR);
  });
});
