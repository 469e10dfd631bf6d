import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatSpiffeId } from '@reelmesh/addressing';
import { KEY_USAGE, readCertificateExtensions, type CertificateExtensions } from './certificate-extensions';
import { splitPem } from './svid-profile';
import { createTestCa, mintIntermediate, mintLeaf, mintSvidVariants, type TestCa } from './testing';

const TD = 'reelmesh.local';
const ID = formatSpiffeId({ trustDomain: TD, actor: 'vfx', agent: 'vfx-1' });

/** The same four extensions as @peculiar/x509 (a general ASN.1 library) reads them. */
function reference(der: Uint8Array): CertificateExtensions {
  const cert = new x509.X509Certificate(der);
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  const usages = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    oids: cert.extensions.map((e) => e.type),
    ...(constraints ? { basicConstraints: constraints.pathLength === undefined ? { ca: constraints.ca } : { ca: constraints.ca, pathLength: constraints.pathLength } } : {}),
    ...(usages ? { keyUsage: usages.usages } : {}),
    ...(eku ? { extendedKeyUsage: eku.usages.map(String) } : {}),
    uris: cert.getExtensions(x509.SubjectAlternativeNameExtension).flatMap((san) => san.names.items.filter((n) => n.type === 'url').map((n) => n.value)),
  };
}

const derOf = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);

let ca: TestCa;
let certificates: Array<{ name: string; der: Uint8Array }>;
beforeAll(async () => {
  ca = await createTestCa({ trustDomain: TD });
  const variants = await mintSvidVariants(ca, ID);
  const { root } = ca;
  const odd = [
    // Every keyUsage bit, decipherOnly (bit 8) in a second byte.
    new x509.KeyUsagesExtension(Object.values(x509.KeyUsageFlags).filter((f): f is number => typeof f === 'number').reduce((a, b) => a | b, 0), true),
    new x509.BasicConstraintsExtension(true, 300, true),
    // Arcs of several bytes, and a first arc of 2 with a second arc above 39.
    new x509.ExtendedKeyUsageExtension(['1.3.6.1.4.1.311.10.3.12', '2.999.4294967297', '1.3.6.1.5.5.7.3.2']),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'a.example' },
      { type: 'url', value: ID },
      { type: 'email', value: 'ops@example.com' },
      { type: 'url', value: 'https://example.com/x' },
    ]),
  ];
  certificates = [
    { name: 'root', der: derOf(ca.bundlePem) },
    { name: 'good leaf', der: derOf((await ca.issue({ spiffeId: ID })).certPem) },
    { name: 'intermediate pathLen 7', der: new Uint8Array((await mintIntermediate(root, { pathLength: 7 })).cert.rawData) },
    { name: 'odd encodings', der: derOf((await mintLeaf(root, ID, odd)).certPem) },
    { name: 'no extensions at all', der: derOf((await mintLeaf(root, ID, [])).certPem) },
    ...variants.flatMap((v) => splitPem(v.svid.chainPem).map((pem, i) => ({ name: `${v.name} #${i}`, der: derOf(pem) }))),
  ];
});

describe('reading the X.509 extensions of the SVID profile', () => {
  it('reads what @peculiar/x509 reads, on the mesh CA\'s, every profile variant\'s and odd certificates', () => {
    expect(certificates.length).toBeGreaterThan(30);
    for (const { name, der } of certificates) expect({ name, read: readCertificateExtensions(der) }).toEqual({ name, read: reference(der) });
    // The odd one really holds what the test means it to.
    const odd = readCertificateExtensions(certificates.find((c) => c.name === 'odd encodings')!.der);
    expect(odd.keyUsage! & KEY_USAGE.decipherOnly).toBe(KEY_USAGE.decipherOnly);
    expect(odd.basicConstraints).toEqual({ ca: true, pathLength: 300 });
    expect(odd.extendedKeyUsage).toContain('2.999.4294967297');
    expect(odd.uris).toEqual([ID, 'https://example.com/x']);
  });

  it('on every one-byte change of a leaf\'s extensions, refuses, or reads what @peculiar/x509 reads, or (where it refuses what we skip) fewer values; never others', () => {
    const der = certificates.find((c) => c.name === 'good leaf')!.der;
    const at = extensionsOffset(der);
    const original = reference(der);
    let refused = 0;
    let agreed = 0;
    for (let i = at; i < der.length; i++) {
      for (const change of [0x01, 0x80, 0xff]) {
        const mutated = der.slice();
        mutated[i] ^= change;
        let ours: CertificateExtensions;
        try {
          ours = readCertificateExtensions(mutated);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          refused++;
          continue;
        }
        let theirs: CertificateExtensions;
        try {
          theirs = reference(mutated);
        } catch {
          // The general parser also refuses what we do not read (the signature after the
          // extensions, a DNS name's characters, the value of an extension whose OID changed to
          // one we skip): then we read no value the certificate did not hold before, only fewer.
          expect({ at: i, change, ours: readable(ours) }).toEqual({ at: i, change, ours: readable(lessOf(ours, original)) });
          continue;
        }
        expect({ at: i, change, ours }).toEqual({ at: i, change, ours: theirs });
        agreed++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(agreed).toBeGreaterThan(0);
  });

  it('refuses every truncation, and garbage', () => {
    const der = certificates.find((c) => c.name === 'good leaf')!.der;
    for (let length = 0; length < der.length; length++) expect(() => readCertificateExtensions(der.subarray(0, length)), `length ${length}`).toThrow();
    expect(() => readCertificateExtensions(new Uint8Array([0x30, 0x80, 0, 0]))).toThrow(/indefinite/);
    expect(() => readCertificateExtensions(new Uint8Array(64).fill(0xff))).toThrow();
  });
});

/** `original`'s values that `ours` also holds: equal to `ours` when ours holds no value original lacks. */
function lessOf(ours: CertificateExtensions, original: CertificateExtensions): CertificateExtensions {
  const same = <K extends keyof CertificateExtensions>(key: K) => (ours[key] !== undefined && JSON.stringify(ours[key]) === JSON.stringify(original[key]) ? { [key]: ours[key] } : {});
  return { oids: ours.oids, ...same('basicConstraints'), ...same('keyUsage'), ...same('extendedKeyUsage'), uris: ours.uris.filter((uri) => original.uris.includes(uri)) };
}

/** The values only (the OIDs of extensions we skip may change freely). */
function readable({ oids: _oids, ...values }: CertificateExtensions): Omit<CertificateExtensions, 'oids'> {
  return values;
}

/** Where the certificate's first extension starts. */
function extensionsOffset(der: Uint8Array): number {
  const cert = new x509.X509Certificate(der);
  expect(cert.extensions.length).toBeGreaterThan(0);
  const first = new Uint8Array(cert.extensions[0].rawData);
  for (let i = 0; i < der.length - first.length; i++) if (first.every((b, j) => der[i + j] === b)) return i;
  throw new Error('extensions not found');
}
