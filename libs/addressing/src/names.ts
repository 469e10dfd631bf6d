// The one name rule. Workflow ids, actors, agents, steps and artifacts become URL path segments,
// SPIFFE path segments, Kubernetes namespaces and Service names, so they are RFC 1035 labels:
// a lowercase letter, then letters, digits or '-', not ending in '-', at most 63 characters.

export const NAME_PATTERN = '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$';
export const NAME_HINT = 'a DNS-label name (a lowercase letter, then a-z, 0-9 or "-", not ending in "-", at most 63 characters)';

/** A lowercase DNS name such as "reelmesh.local": the trust domain of SPIFFE ids. */
export const TRUST_DOMAIN_PATTERN = '^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$';
export const TRUST_DOMAIN_HINT = 'a lowercase DNS name such as "reelmesh.local"';

const NAME = new RegExp(NAME_PATTERN);
const TRUST_DOMAIN = new RegExp(TRUST_DOMAIN_PATTERN);

export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

export function isTrustDomain(value: unknown): value is string {
  return typeof value === 'string' && TRUST_DOMAIN.test(value);
}

/** Throws a TypeError naming `what` unless `value` follows the name rule. */
export function assertName(what: string, value: unknown): asserts value is string {
  if (!isName(value)) throw new TypeError(`${what} must be ${NAME_HINT}, got ${JSON.stringify(value)}`);
}
