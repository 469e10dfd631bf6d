import { X509Certificate, type KeyObject } from 'node:crypto';
import { spiffeIdOfCertificate } from '@reelmesh/addressing';

// Verifies a signer's certificate chain against the mesh trust bundle with node's own X.509
// (no dependency on the mesh lib: verifiers such as the CLI run without the platform). What
// identity a leaf carries is read by the one rule in @reelmesh/addressing, shared by every reader.

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const MAX_DEPTH = 4;

export function splitPem(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

export interface VerifiedSigner {
  spiffeId: string;
  publicKey: KeyObject;
}

/** Parse a trust bundle once; verifiers take the result. */
export function parseTrustBundle(bundlePem: string): X509Certificate[] {
  const roots = splitPem(bundlePem).map((pem) => new X509Certificate(pem));
  if (roots.length === 0) throw new Error('the CA bundle holds no certificate');
  return roots;
}

/**
 * Checks that the leaf chains to one of `roots`, every certificate on the way was valid at `at`,
 * and the leaf is an X.509-SVID (exactly one SPIFFE URI SAN). Throws with the reason.
 */
export function verifyCertificateChain(chain: string[], roots: X509Certificate[], at: Date): VerifiedSigner {
  // Every record of a run carries the same few chains: verify each once per trust bundle.
  let cache = verifiedChains.get(roots);
  if (!cache) verifiedChains.set(roots, (cache = new Map()));
  const key = chain.join('');
  let entry = cache.get(key);
  if (!entry) {
    entry = verifyUncached(chain, roots);
    if (cache.size > 1000) cache.clear();
    cache.set(key, entry);
  }
  if (at.getTime() < entry.notBefore || at.getTime() > entry.notAfter) {
    throw new Error(`certificate chain of ${entry.signer.spiffeId} was not valid at ${at.toISOString()}`);
  }
  return entry.signer;
}

interface VerifiedChainEntry {
  signer: VerifiedSigner;
  /** Intersection of the validity periods of every certificate on the path. */
  notBefore: number;
  notAfter: number;
}

const verifiedChains = new WeakMap<X509Certificate[], Map<string, VerifiedChainEntry>>();

function verifyUncached(chain: string[], roots: X509Certificate[]): VerifiedChainEntry {
  if (chain.length === 0) throw new Error('no certificate chain');
  const certs = chain.map((pem) => new X509Certificate(pem));
  const leaf = certs[0];
  if (leaf.ca) throw new Error('the signing certificate is a CA certificate, not a workload SVID');
  let current = leaf;
  let notBefore = -Infinity;
  let notAfter = Infinity;
  const narrow = (cert: X509Certificate) => {
    notBefore = Math.max(notBefore, Date.parse(cert.validFrom));
    notAfter = Math.min(notAfter, Date.parse(cert.validTo));
  };
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    narrow(current);
    const root = roots.find((r) => current.checkIssued(r) && current.verify(r.publicKey));
    if (root) {
      narrow(root);
      return { signer: { spiffeId: spiffeIdOf(leaf), publicKey: leaf.publicKey }, notBefore, notAfter };
    }
    const next = certs.find((c) => c !== current && c.ca && current.checkIssued(c) && current.verify(c.publicKey));
    if (!next) break;
    current = next;
  }
  throw new Error('the certificate chain does not lead to the mesh CA');
}

/** The leaf's workload identity: an X.509-SVID has exactly one URI SAN, and it is a SPIFFE id. */
function spiffeIdOf(cert: X509Certificate): string {
  const id = spiffeIdOfCertificate(cert);
  if (id === undefined) throw new Error('the signing certificate carries no single SPIFFE id');
  return id;
}
