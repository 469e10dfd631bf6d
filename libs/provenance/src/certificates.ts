import type { KeyObject, X509Certificate } from 'node:crypto';
import { checkSvid } from '@reelmesh/workload-identity';

// Verifies a signer's certificate chain against the mesh trust bundle by the one X.509-SVID
// profile of @reelmesh/workload-identity (the rules the proxies apply too; no dependency on the
// mesh lib: verifiers such as the CLI run without the platform), for the use 'signing': the leaf
// must carry id-kp-codeSigning. Whether the chain was valid when it signed is checked here.

export { parseTrustBundle, splitPem } from '@reelmesh/workload-identity';

export interface VerifiedSigner {
  spiffeId: string;
  publicKey: KeyObject;
}

export interface VerifyCertificateChainOptions {
  /**
   * The trust domain the signer must be in (a workflow's metadata.trustDomain). Without it, the
   * one the trust bundle's root names, if it names one.
   */
  trustDomain?: string;
}

/**
 * Checks that the leaf chains to one of `roots` and passes the X.509-SVID profile for signing,
 * and that every certificate on the path was valid at `at`. Results are cached per (chain, roots),
 * so the thousands of records of a run signed by the same few chains cost one check each. Throws
 * with the reason; a broken profile rule is named in the message, e.g. "leaf has no
 * id-kp-codeSigning extended key usage (signing needs it) [extended-key-usage]".
 */
export function verifyCertificateChain(chain: string[], roots: X509Certificate[], at: Date, opts: VerifyCertificateChainOptions = {}): VerifiedSigner {
  const svid = checkSvid(chain, roots, { use: 'signing', trustDomain: opts.trustDomain });
  if (at.getTime() < svid.notBefore || at.getTime() > svid.notAfter) {
    throw new Error(`certificate chain of ${svid.spiffeId} was not valid at ${at.toISOString()}`);
  }
  return { spiffeId: svid.spiffeId, publicKey: svid.publicKey };
}
