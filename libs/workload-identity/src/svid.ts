/** An X.509-SVID: a short-lived leaf whose only identity is its SPIFFE URI SAN. */
export interface Svid {
  spiffeId: string;
  certPem: string;
  keyPem: string;
  /** Leaf followed by the issuing CA: what a TLS endpoint presents, what a signature carries. */
  chainPem: string;
  /** The mesh trust bundle (root CA) to verify peers against. */
  bundlePem: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** Anything that issues SVIDs: the CA in-process, or the control plane over its API. */
export interface SvidIssuer {
  issue(request: { spiffeId: string; ttlSeconds?: number }): Promise<Svid>;
}

/** An SVID as POST /v1/svid answers it (dates as ISO strings). */
export function svidFromJson(body: Record<string, unknown>): Svid {
  const text = (key: string) => {
    const value = body[key];
    if (typeof value !== 'string' || value === '') throw new TypeError(`SVID answer has no ${key}`);
    return value;
  };
  return {
    spiffeId: text('spiffeId'),
    certPem: text('certPem'),
    keyPem: text('keyPem'),
    chainPem: text('chainPem'),
    bundlePem: text('bundlePem'),
    serialNumber: text('serialNumber'),
    notBefore: new Date(text('notBefore')),
    notAfter: new Date(text('notAfter')),
  };
}
