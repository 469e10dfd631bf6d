// Workload identities: spiffe://<trust-domain>/ns/<actor>/sa/<agent>, as Istio names them. One
// formatter, one parser, and one reader of a certificate's identity, for the proxy, the control
// plane, provenance and the policy generator alike.
import { isName, isTrustDomain, NAME_HINT, TRUST_DOMAIN_HINT } from './names';

export interface WorkloadId {
  readonly trustDomain: string;
  readonly actor: string;
  readonly agent: string;
}

export function formatSpiffeId(id: WorkloadId): string {
  if (!isName(id.actor)) throw new TypeError(`actor must be ${NAME_HINT}, got ${JSON.stringify(id.actor)}`);
  if (!isName(id.agent)) throw new TypeError(`agent must be ${NAME_HINT}, got ${JSON.stringify(id.agent)}`);
  return `${spiffeTrustDomainPrefix(id.trustDomain)}ns/${id.actor}/sa/${id.agent}`;
}

/** What every SPIFFE id of a trust domain starts with: 'spiffe://<trust-domain>/' (for prefix matchers). */
export function spiffeTrustDomainPrefix(trustDomain: string): string {
  if (!isTrustDomain(trustDomain)) throw new TypeError(`trust domain must be ${TRUST_DOMAIN_HINT}, got ${JSON.stringify(trustDomain)}`);
  return `spiffe://${trustDomain}/`;
}

/** The trust domain's own SPIFFE id, 'spiffe://<trust-domain>' (the SAN of its CA). */
export function spiffeTrustDomainId(trustDomain: string): string {
  return spiffeTrustDomainPrefix(trustDomain).slice(0, -1);
}

/** The parts of a ReelMesh SPIFFE id, or undefined for anything else. */
export function readSpiffeId(id: unknown): WorkloadId | undefined {
  if (typeof id !== 'string' || !id.startsWith('spiffe://')) return undefined;
  const [trustDomain, ns, actor, sa, agent, ...rest] = id.slice('spiffe://'.length).split('/');
  if (rest.length > 0 || ns !== 'ns' || sa !== 'sa' || !isTrustDomain(trustDomain) || !isName(actor) || !isName(agent)) return undefined;
  return { trustDomain, actor, agent };
}

export function parseSpiffeId(id: string): WorkloadId {
  const parts = readSpiffeId(id);
  if (!parts) throw new TypeError(`invalid SPIFFE id ${JSON.stringify(id)} (want spiffe://<trust-domain>/ns/<actor>/sa/<agent>)`);
  return parts;
}

export function isSpiffeId(id: unknown): id is string {
  return readSpiffeId(id) !== undefined;
}

/**
 * The workload identity a certificate carries: its ONE URI SAN, when that is a SPIFFE id. An
 * X.509-SVID has exactly one URI SAN; a certificate with none, two, or a non-SPIFFE one names no
 * workload. Takes node's SAN string ("DNS:x, URI:spiffe://...", from X509Certificate.subjectAltName
 * or a TLS peer certificate's subjectaltname) or either object.
 */
export function spiffeIdOfCertificate(cert: string | { subjectAltName?: string } | { subjectaltname?: string } | undefined | null): string | undefined {
  const san = typeof cert === 'string' ? cert : ((cert as { subjectAltName?: string })?.subjectAltName ?? (cert as { subjectaltname?: string })?.subjectaltname);
  if (!san) return undefined;
  const uris = san.split(', ').filter((entry) => entry.startsWith('URI:'));
  return uris.length === 1 && isSpiffeId(uris[0].slice(4)) ? uris[0].slice(4) : undefined;
}
