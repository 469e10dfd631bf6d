// Real certificates for the specs of every reader of the X.509-SVID profile (the profile module, the
// proxies, provenance): a test CA, and from any root — the mesh CA's own included — one leaf that
// breaks each rule, next to the good one. Not part of the public API.
import 'reflect-metadata';
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { formatSpiffeId, parseSpiffeId } from '@reelmesh/addressing';
import type { Svid, SvidIssuer } from './svid';
import { svidLeafExtensions, svidRootExtensions } from './svid-extensions';
import { KEY_PURPOSE, type SvidRule, type SvidUse } from './svid-profile';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** A CA that signs in the tests: its certificate, its key, and its chain up to the root (itself first). */
export interface TestIssuer {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
  chain: readonly x509.X509Certificate[];
}

/** A root that issues good SVIDs (an SvidIssuer, so an SvidSource can hold them) and signs the bad ones. */
export interface TestCa extends SvidIssuer {
  trustDomain: string;
  root: TestIssuer;
  bundlePem: string;
}

/**
 * A root as the mesh CA mints it (pathLen 0, keyCertSign + cRLSign, URI SAN spiffe://<trust
 * domain>), or with another pathLen, or naming no trust domain (as the dev CA's).
 */
export async function createTestCa(opts: { trustDomain: string; pathLength?: number; namesTrustDomain?: boolean }): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const extensions = svidRootExtensions(opts.namesTrustDomain === false ? undefined : opts.trustDomain);
  if (opts.pathLength !== undefined) extensions[0] = new x509.BasicConstraintsExtension(true, opts.pathLength, true);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    ...validity(365 * 86_400),
    serialNumber: serial(),
    name: `CN=ReelMesh test CA ${opts.trustDomain}`,
    keys,
    signingAlgorithm: ALG,
    extensions,
  });
  return testCa(opts.trustDomain, cert, keys.privateKey);
}

/** Signs with an existing root, e.g. the one the mesh CA persisted (ca-cert.pem, ca-key.pem). */
export async function testCaFromPem(opts: { trustDomain: string; certPem: string; keyPem: string }): Promise<TestCa> {
  const der = createPrivateKey(opts.keyPem).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC, true, ['sign']);
  return testCa(opts.trustDomain, new x509.X509Certificate(opts.certPem), key);
}

function testCa(trustDomain: string, cert: x509.X509Certificate, key: webcrypto.CryptoKey): TestCa {
  const root: TestIssuer = { cert, key, chain: [cert] };
  return {
    trustDomain,
    root,
    bundlePem: pem(cert),
    issue: ({ spiffeId, ttlSeconds }) => mintLeaf(root, spiffeId, svidLeafExtensions(spiffeId), ttlSeconds),
  };
}

/** A leaf with exactly `extensions`, signed by `issuer`; `spiffeId` is what the SVID claims to be. */
export async function mintLeaf(issuer: TestIssuer, spiffeId: string, extensions: x509.Extension[], ttlSeconds = 3600): Promise<Svid> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    ...validity(ttlSeconds),
    serialNumber: serial(),
    subject: `O=ReelMesh test, CN=${parseSpiffeId(spiffeId).agent}`,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: ALG,
    extensions,
  });
  const root = issuer.chain[issuer.chain.length - 1];
  return {
    spiffeId,
    certPem: pem(cert),
    keyPem: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString(),
    chainPem: [cert, ...issuer.chain].map(pem).join(''),
    bundlePem: pem(root),
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

/** An intermediate CA under `issuer`: by default a proper one (cA true, keyCertSign + cRLSign). */
export async function mintIntermediate(
  issuer: TestIssuer,
  opts: { ca?: boolean; pathLength?: number; usages?: x509.KeyUsageFlags; name?: string } = {},
): Promise<TestIssuer> {
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    ...validity(86_400),
    serialNumber: serial(),
    subject: `CN=${opts.name ?? 'ReelMesh test intermediate'} ${serial().slice(0, 8)}`,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(opts.ca ?? true, opts.pathLength, true),
      new x509.KeyUsagesExtension(opts.usages ?? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { cert, key: keys.privateKey, chain: [cert, ...issuer.chain] };
}

/** One leaf that breaks one rule, and the uses it is refused for (the others it would pass). */
export interface SvidVariant {
  name: string;
  rule: SvidRule;
  refusedFor: readonly SvidUse[];
  svid: Svid;
}

const ALL_USES: readonly SvidUse[] = ['tls-client', 'tls-server', 'signing'];

/**
 * For the identity `spiffeId`, one leaf per broken rule, all signed under `ca`'s root: two URI
 * SANs; none; one that is no SPIFFE id; a foreign trust domain; cA true; no keyUsage; keyUsage
 * without digitalSignature; with keyCertSign; no EKU; anyExtendedKeyUsage only; serverAuth only
 * (refused as a client and for signing); clientAuth only; TLS only (refused for signing); an
 * intermediate without cA; one without keyCertSign; a pathLen 0 intermediate over another; and,
 * when the root has pathLen 0 (the mesh CA's), an intermediate under it.
 */
export async function mintSvidVariants(ca: TestCa, spiffeId: string): Promise<SvidVariant[]> {
  const { trustDomain, actor, agent } = parseSpiffeId(spiffeId);
  const url = (value: string) => ({ type: 'url' as const, value });
  /** The good leaf's extensions with some replaced (same type) and some removed. */
  const leaf = (replace: x509.Extension[], remove: Array<abstract new (...args: never[]) => x509.Extension> = []) =>
    svidLeafExtensions(spiffeId)
      .filter((ext) => !remove.some((type) => ext instanceof type))
      .map((ext) => replace.find((r) => r.type === ext.type) ?? ext);
  const san = (...names: Array<{ type: 'url' | 'dns'; value: string }>) => new x509.SubjectAlternativeNameExtension(names);
  const keyUsage = (flags: x509.KeyUsageFlags) => new x509.KeyUsagesExtension(flags, true);
  const eku = (...oids: string[]) => new x509.ExtendedKeyUsageExtension(oids);
  const foreign = formatSpiffeId({ trustDomain: trustDomain === 'foreign.example' ? 'other.example' : 'foreign.example', actor, agent });
  const sibling = formatSpiffeId({ trustDomain, actor, agent: `${agent}-twin` });
  const { digitalSignature, keyEncipherment, keyCertSign, cRLSign } = x509.KeyUsageFlags;
  const { root } = ca;

  const specs: Array<{ name: string; rule: SvidRule; refusedFor?: readonly SvidUse[]; issuer?: TestIssuer; id?: string; extensions: x509.Extension[] }> = [
    { name: 'two URI SANs', rule: 'uri-san-count', extensions: leaf([san(url(spiffeId), url(sibling))]) },
    { name: 'no URI SAN', rule: 'uri-san-count', extensions: leaf([san({ type: 'dns', value: `${agent}.${trustDomain}` })]) },
    { name: 'a URI SAN that is no SPIFFE id', rule: 'spiffe-id', extensions: leaf([san(url(`https://${trustDomain}/ns/${actor}/sa/${agent}`))]) },
    { name: 'a foreign trust domain', rule: 'trust-domain', id: foreign, extensions: svidLeafExtensions(foreign) },
    { name: 'a leaf with cA true', rule: 'leaf-is-ca', extensions: leaf([new x509.BasicConstraintsExtension(true, undefined, true)]) },
    { name: 'no keyUsage', rule: 'key-usage', extensions: leaf([], [x509.KeyUsagesExtension]) },
    { name: 'keyUsage without digitalSignature', rule: 'key-usage', extensions: leaf([keyUsage(keyEncipherment)]) },
    { name: 'keyUsage with keyCertSign', rule: 'key-usage', extensions: leaf([keyUsage(digitalSignature | keyCertSign)]) },
    { name: 'no extendedKeyUsage', rule: 'extended-key-usage', extensions: leaf([], [x509.ExtendedKeyUsageExtension]) },
    { name: 'anyExtendedKeyUsage only', rule: 'extended-key-usage', extensions: leaf([eku(ANY_EXTENDED_KEY_USAGE)]) },
    { name: 'serverAuth only', rule: 'extended-key-usage', refusedFor: ['tls-client', 'signing'], extensions: leaf([eku(KEY_PURPOSE['tls-server'].oid)]) },
    { name: 'clientAuth only', rule: 'extended-key-usage', refusedFor: ['tls-server', 'signing'], extensions: leaf([eku(KEY_PURPOSE['tls-client'].oid)]) },
    {
      name: 'TLS only (serverAuth + clientAuth, no codeSigning)',
      rule: 'extended-key-usage',
      refusedFor: ['signing'],
      extensions: leaf([eku(KEY_PURPOSE['tls-server'].oid, KEY_PURPOSE['tls-client'].oid)]),
    },
    { name: 'an intermediate without cA', rule: 'ca-basic-constraints', issuer: await mintIntermediate(root, { ca: false }), extensions: leaf([]) },
    { name: 'an intermediate without keyCertSign', rule: 'ca-key-usage', issuer: await mintIntermediate(root, { usages: cRLSign }), extensions: leaf([]) },
    {
      name: 'an intermediate under a pathLen 0 intermediate',
      rule: 'path-length',
      issuer: await mintIntermediate(await mintIntermediate(root, { pathLength: 0 })),
      extensions: leaf([]),
    },
  ];
  if (root.cert.getExtension(x509.BasicConstraintsExtension)?.pathLength === 0) {
    specs.push({ name: 'an intermediate under the pathLen 0 root', rule: 'path-length', issuer: await mintIntermediate(root), extensions: leaf([]) });
  }
  return Promise.all(
    specs.map(async (s) => ({
      name: s.name,
      rule: s.rule,
      refusedFor: s.refusedFor ?? ALL_USES,
      svid: await mintLeaf(s.issuer ?? root, s.id ?? spiffeId, s.extensions),
    })),
  );
}

function validity(ttlSeconds: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + ttlSeconds * 1000) };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // positive INTEGER
  return bytes.toString('hex');
}

function pem(cert: x509.X509Certificate): string {
  return cert.toString('pem') + '\n';
}
