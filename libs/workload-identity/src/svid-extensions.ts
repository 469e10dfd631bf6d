// What an issuer puts in the certificates of the SVID profile (svid-profile.ts checks them): the
// mesh CA's and the dev CA's. Built with @peculiar/x509, which only issuers load: the readers of
// the profile (proxies, agents) check certificates without it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { spiffeTrustDomainId } from '@reelmesh/addressing';
import { KEY_PURPOSE } from './svid-profile';

/**
 * The extensions of every workload SVID an issuer mints (the mesh CA, the dev CA): not a CA,
 * keyUsage digitalSignature, one SPIFFE URI SAN, and the extended key usages of all three uses —
 * one SVID serves the pod's TLS (client and server) and its app's signing.
 */
export function svidLeafExtensions(spiffeId: string): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(Object.values(KEY_PURPOSE).map((purpose) => purpose.oid)),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
  ];
}

/**
 * The extensions of an SVID-issuing root: a CA that signs leaves directly (pathLen 0), keyCertSign
 * and cRLSign, and, given a trust domain, its URI SAN spiffe://<trust-domain> (what verifiers that
 * are not told the trust domain hold leaves to).
 */
export function svidRootExtensions(trustDomain?: string): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    // The trust domain's own SPIFFE id is the prefix of its workloads' ids without the final "/".
    ...(trustDomain === undefined ? [] : [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeTrustDomainId(trustDomain) }])]),
  ];
}
