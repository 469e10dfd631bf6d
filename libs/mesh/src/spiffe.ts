// SPIFFE ids as ReelMesh uses them: spiffe://<trust-domain>/ns/<actor>/sa/<agent>.
// The mesh keeps its own tiny parser so it does not depend on the workflow lib.

export interface SpiffeParts {
  trustDomain: string;
  actor: string;
  agent: string;
}

const NAME = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?';
const TRUST_DOMAIN = '[a-z0-9]([a-z0-9.-]{0,253}[a-z0-9])?';
const SPIFFE_RE = new RegExp(`^spiffe://(${TRUST_DOMAIN})/ns/(${NAME})/sa/(${NAME})$`);

export function formatSpiffeId(trustDomain: string, actor: string, agent: string): string {
  const id = `spiffe://${trustDomain}/ns/${actor}/sa/${agent}`;
  parseSpiffeId(id); // validates every part
  return id;
}

export function parseSpiffeId(id: string): SpiffeParts {
  const m = SPIFFE_RE.exec(id);
  if (!m) throw new Error(`invalid SPIFFE id "${id}" (want spiffe://<trust-domain>/ns/<actor>/sa/<agent>)`);
  return { trustDomain: m[1], actor: m[3], agent: m[5] };
}

export function isSpiffeId(id: string): boolean {
  return SPIFFE_RE.test(id);
}

/**
 * The single SPIFFE URI SAN of a peer certificate as node:tls reports it
 * (`subjectaltname: "DNS:x, URI:spiffe://..."`). An X.509-SVID carries exactly one URI SAN;
 * anything else is not an identity we accept.
 */
export function spiffeIdFromSubjectAltName(subjectaltname: string | undefined): string | undefined {
  if (!subjectaltname) return undefined;
  let found: string | undefined;
  for (const entry of subjectaltname.split(', ')) {
    if (!entry.startsWith('URI:')) continue;
    if (found !== undefined) return undefined;
    found = entry.slice(4);
  }
  return found !== undefined && isSpiffeId(found) ? found : undefined;
}
