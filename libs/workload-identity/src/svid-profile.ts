import { X509Certificate, type KeyObject } from 'node:crypto';
import { isTrustDomain, readSpiffeId } from '@reelmesh/addressing';
import { KEY_USAGE, readCertificateExtensions, type CertificateExtensions } from './certificate-extensions';

// The one home of the certificate rules: what a certificate must be to stand for a workload (the
// SPIFFE X.509-SVID profile), checked like a SPIFFE verifier would, for every reader — the proxies
// (the TLS client's and the server's certificate) and provenance (the signer of records, of
// deliverable attestations and of audit checkpoints). Node's X.509 builds and verifies the path;
// certificate-extensions.ts reads the extensions node does not expose (key usage bits,
// pathLenConstraint). What an issuer puts in an SVID is in svid-extensions.ts.

/** What a certificate is used for; each use needs its own extended key usage. */
export type SvidUse = 'tls-client' | 'tls-server' | 'signing';

/** The rule a refused certificate breaks (SvidProfileError.rule). */
export type SvidRule =
  /** Not an X.509 certificate, one that repeats an extension, or one node cannot work with. */
  | 'malformed'
  /** No path from the leaf to a root of the trust bundle (bad signature, unknown issuer, too long). */
  | 'chain'
  /** The leaf does not have exactly one URI SAN. */
  | 'uri-san-count'
  /** The leaf's one URI SAN is not a SPIFFE id (spiffe://<trust-domain>/ns/<actor>/sa/<agent>). */
  | 'spiffe-id'
  /** The leaf's SPIFFE id is outside the expected trust domain. */
  | 'trust-domain'
  /** The leaf says it is a CA (basicConstraints cA true). */
  | 'leaf-is-ca'
  /** The leaf has no keyUsage, lacks digitalSignature, or may sign certificates or CRLs. */
  | 'key-usage'
  /** The leaf has no extendedKeyUsage, or not the one its use needs. */
  | 'extended-key-usage'
  /** A CA on the path has no basicConstraints with cA true. */
  | 'ca-basic-constraints'
  /** A CA on the path has no keyUsage keyCertSign. */
  | 'ca-key-usage'
  /** A CA on the path has more intermediate CAs below it than its pathLenConstraint allows. */
  | 'path-length';

/** The extended key usage each use needs (RFC 5280 §4.2.1.12 key purposes). */
export const KEY_PURPOSE: Readonly<Record<SvidUse, { readonly oid: string; readonly name: string }>> = {
  'tls-client': { oid: '1.3.6.1.5.5.7.3.2', name: 'id-kp-clientAuth' },
  'tls-server': { oid: '1.3.6.1.5.5.7.3.1', name: 'id-kp-serverAuth' },
  // What Sigstore's Fulcio puts in the certificates it issues for signing artifacts and attestations.
  signing: { oid: '1.3.6.1.5.5.7.3.3', name: 'id-kp-codeSigning' },
};

export class SvidProfileError extends Error {
  readonly code = 'ERR_SVID_PROFILE';

  constructor(
    readonly rule: SvidRule,
    description: string,
  ) {
    super(`${description} [${rule}]`);
    this.name = 'SvidProfileError';
  }
}

/** A certificate as PEM, DER, or node's X509Certificate. */
export type CertificateInput = string | Uint8Array | X509Certificate;

export interface SvidCheck {
  use: SvidUse;
  /**
   * The trust domain the leaf's SPIFFE id must be in. Without it, the trust domain the root that
   * was reached names (its URI SAN spiffe://<trust-domain>), if it names one.
   */
  trustDomain?: string;
}

/** A certificate chain that passed every rule for its use. */
export interface CheckedSvid {
  spiffeId: string;
  trustDomain: string;
  leaf: X509Certificate;
  publicKey: KeyObject;
  /** Leaf first, then the intermediates, then the root of the trust bundle that was reached. */
  path: readonly X509Certificate[];
  /** Intersection of the validity periods of every certificate on the path (ms since the epoch). */
  notBefore: number;
  notAfter: number;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Intermediate CAs a path may hold at most. */
const MAX_INTERMEDIATES = 4;
const CACHE_LIMIT = 1000;

export function splitPem(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

/** Parse a trust bundle (its roots) once; checkers take the result. */
export function parseTrustBundle(bundlePem: string): X509Certificate[] {
  const roots = splitPem(bundlePem).map((pem) => new X509Certificate(pem));
  if (roots.length === 0) throw new Error('the CA bundle holds no certificate');
  return roots;
}

/**
 * Checks a presented chain (leaf first; intermediates in any order; a trailing root is ignored)
 * against the trust bundle's `roots` and the X.509-SVID profile for `use`:
 * - leaf: exactly one URI SAN, a SPIFFE id in the expected trust domain; basicConstraints cA not
 *   true; keyUsage present with digitalSignature and without keyCertSign or cRLSign;
 *   extendedKeyUsage present with the use's key purpose (anyExtendedKeyUsage does not count);
 * - every CA on the path to the root (the root too): basicConstraints cA true, keyUsage
 *   keyCertSign, and no more intermediate CAs below it than its pathLenConstraint.
 * Time validity is the caller's (a TLS stack checks it at the handshake, provenance at signing
 * time): the result carries the path's validity window. Results, refusals included, are cached
 * per (chain, roots). Throws SvidProfileError naming the broken rule (and nothing else).
 */
export function checkSvid(chain: readonly CertificateInput[], roots: readonly X509Certificate[], check: SvidCheck): CheckedSvid {
  const key = `${rootsKey(roots)}\n${chain.map(certificateKey).join('\n')}`;
  let analysis = analyses.get(key);
  if (!analysis) {
    try {
      analysis = analyse(chain, roots);
    } catch (error) {
      // Whatever the certificates make node or the parser throw is a refusal too, never a crash
      // of the listener that asked.
      analysis = error instanceof SvidProfileError ? error : new SvidProfileError('malformed', `the certificate chain cannot be checked: ${(error as Error).message}`);
    }
    if (analyses.size >= CACHE_LIMIT) analyses.clear();
    analyses.set(key, analysis);
  }
  if (analysis instanceof SvidProfileError) throw analysis;

  const { svid, rootTrustDomain, purposes } = analysis;
  const trustDomain = check.trustDomain ?? rootTrustDomain;
  if (trustDomain !== undefined && svid.trustDomain !== trustDomain) {
    throw new SvidProfileError('trust-domain', `leaf ${svid.spiffeId} is outside trust domain ${trustDomain}`);
  }
  const purpose = KEY_PURPOSE[check.use];
  if (!purposes) throw new SvidProfileError('extended-key-usage', 'leaf has no extendedKeyUsage extension (an SVID names the uses it serves)');
  if (!purposes.has(purpose.oid)) throw new SvidProfileError('extended-key-usage', `leaf has no ${purpose.name} extended key usage (${check.use} needs it)`);
  return svid;
}

interface Analysis {
  svid: CheckedSvid;
  rootTrustDomain?: string;
  /** The leaf's extended key usages; undefined without the extension. */
  purposes?: ReadonlySet<string>;
}

const analyses = new Map<string, Analysis | SvidProfileError>();
const rootsKeys = new WeakMap<readonly X509Certificate[], string>();

function rootsKey(roots: readonly X509Certificate[]): string {
  let key = rootsKeys.get(roots);
  if (key === undefined) rootsKeys.set(roots, (key = roots.map((r) => r.fingerprint256).join(',')));
  return key;
}

function certificateKey(cert: CertificateInput): string {
  if (typeof cert === 'string') return cert;
  return Buffer.from(cert instanceof X509Certificate ? cert.raw : cert).toString('base64');
}

/** The use-independent rules; what depends on the use and the trust domain is checked per call. */
function analyse(chain: readonly CertificateInput[], roots: readonly X509Certificate[]): Analysis {
  if (chain.length === 0) throw new SvidProfileError('chain', 'no certificate chain');
  const certs = chain.map(toX509);
  const path = buildPath(certs, roots);
  const parsed = path.map(extensionsOf);

  const leaf = parsed[0];
  const uris = leaf.uris;
  if (uris.length !== 1) throw new SvidProfileError('uri-san-count', `leaf has ${uris.length} URI SANs; an X.509-SVID has exactly one (its SPIFFE id)`);
  const id = readSpiffeId(uris[0]);
  if (!id) throw new SvidProfileError('spiffe-id', `leaf's URI SAN ${uris[0]} is not a SPIFFE id of the form spiffe://<trust-domain>/ns/<actor>/sa/<agent>`);
  if (leaf.basicConstraints?.ca) {
    throw new SvidProfileError('leaf-is-ca', 'leaf is a CA certificate (basicConstraints cA true), not a workload SVID');
  }
  const usages = leaf.keyUsage;
  if (usages === undefined) throw new SvidProfileError('key-usage', 'leaf has no keyUsage extension');
  if (!(usages & KEY_USAGE.digitalSignature)) throw new SvidProfileError('key-usage', 'leaf keyUsage lacks digitalSignature');
  if (usages & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)) {
    throw new SvidProfileError('key-usage', 'leaf keyUsage allows keyCertSign or cRLSign (only a CA signs certificates and CRLs)');
  }

  // Upwards from the leaf: a CA at index i has i - 1 intermediate CAs between it and the leaf.
  for (let i = 1; i < path.length; i++) {
    const ca = parsed[i];
    const name = `${i === path.length - 1 ? 'root' : 'intermediate'} CA "${path[i].subject.replace(/\n/g, ', ')}"`;
    const constraints = ca.basicConstraints;
    if (!constraints?.ca) throw new SvidProfileError('ca-basic-constraints', `${name} has no basicConstraints with cA true, yet issued the next certificate`);
    const caUsages = ca.keyUsage ?? 0;
    if (!(caUsages & KEY_USAGE.keyCertSign)) throw new SvidProfileError('ca-key-usage', `${name} has no keyCertSign key usage`);
    if (constraints.pathLength !== undefined && i - 1 > constraints.pathLength) {
      throw new SvidProfileError('path-length', `${name} allows ${constraints.pathLength} intermediate CA(s) below it (pathLenConstraint), but ${i - 1} follow`);
    }
  }

  const eku = leaf.extendedKeyUsage;
  const validity = path.map((cert) => [Date.parse(cert.validFrom), Date.parse(cert.validTo)]);
  return {
    svid: {
      spiffeId: uris[0],
      trustDomain: id.trustDomain,
      leaf: path[0],
      publicKey: path[0].publicKey,
      path,
      notBefore: Math.max(...validity.map(([from]) => from)),
      notAfter: Math.min(...validity.map(([, to]) => to)),
    },
    rootTrustDomain: trustDomainOfCa(parsed[parsed.length - 1]),
    purposes: eku ? new Set(eku) : undefined,
  };
}

function toX509(cert: CertificateInput, index: number): X509Certificate {
  if (cert instanceof X509Certificate) return cert;
  try {
    return new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch {
    throw new SvidProfileError('malformed', `certificate ${index} of the chain is not an X.509 certificate`);
  }
}

/** The path leaf -> intermediates -> a root: each link by issuer name and a verified signature. */
function buildPath(certs: X509Certificate[], roots: readonly X509Certificate[]): X509Certificate[] {
  const path = [certs[0]];
  for (let depth = 0; depth <= MAX_INTERMEDIATES; depth++) {
    const current = path[path.length - 1];
    const root = roots.find((r) => issuedBy(current, r));
    if (root) return [...path, root];
    const next = certs.find((c) => !path.includes(c) && issuedBy(current, c));
    if (!next) break;
    path.push(next);
  }
  throw new SvidProfileError('chain', 'the certificate chain does not lead to the mesh CA');
}

// Not node's checkIssued: OpenSSL's also refuses an issuer without keyCertSign, which would hide
// the rule that was broken behind a bare "does not lead to the CA".
function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.issuer === issuer.subject && cert.verify(issuer.publicKey);
}

function extensionsOf(cert: X509Certificate, index: number): CertificateExtensions {
  let parsed: CertificateExtensions;
  try {
    parsed = readCertificateExtensions(cert.raw);
  } catch {
    throw new SvidProfileError('malformed', `certificate ${index} of the path cannot be parsed`);
  }
  const oids = parsed.oids;
  if (new Set(oids).size !== oids.length) throw new SvidProfileError('malformed', `certificate ${index} of the path repeats an extension`);
  return parsed;
}

/** A CA names its trust domain with one URI SAN spiffe://<trust-domain> (SPIRE's CAs do). */
function trustDomainOfCa(ca: CertificateExtensions): string | undefined {
  const uris = ca.uris;
  const m = uris.length === 1 ? /^spiffe:\/\/([^/]+)\/?$/.exec(uris[0]) : null;
  return m && isTrustDomain(m[1]) ? m[1] : undefined;
}
