import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { checkSvid, parseTrustBundle, SvidProfileError, type CheckedSvid, type SvidUse } from '@reelmesh/workload-identity';

export interface Peer {
  spiffeId: string;
  serial: string;
}

const PEER = Symbol('reelmesh.peer');
const REFUSAL = Symbol('reelmesh.peer-refusal');
type PeerSocket = TLSSocket & { [PEER]?: Peer; [REFUSAL]?: SvidProfileError };

/** The trust bundle as PEM (parsed once) or as parsed roots. */
export type TrustRoots = string | readonly X509Certificate[];

/**
 * Checks, once per connection, the chain a TLS peer presented (after OpenSSL verified it) by the
 * X.509-SVID profile for `use`, in `trustDomain`. `cert` is node's detailed peer certificate (its
 * issuerCertificate links are the chain OpenSSL built). Without `roots`, the root OpenSSL anchored
 * the chain to (the self-signed end of that chain, its self-signature checked) is the root the path
 * must reach. Throws SvidProfileError naming the broken rule.
 */
export function checkPeerSvid(cert: PeerCertificate, use: SvidUse, trustDomain: string, roots?: TrustRoots): CheckedSvid {
  const chain = presentedChain(cert as DetailedPeerCertificate);
  return checkSvid(chain, roots === undefined ? anchorOf(chain) : rootsOf(roots), { use, trustDomain });
}

/**
 * Reads the verified peer's SPIFFE id once per connection (not per request) and pins it on the
 * socket. A client whose certificate chain breaks a rule of the X.509-SVID profile for a TLS client
 * (peerRefusalOf names it), or whose SPIFFE id is not in our trust domain, is not pinned: the
 * caller disconnects it. `roots`: the listener's trust bundle; without it, the root OpenSSL
 * anchored the verified chain to.
 */
export function pinPeerIdentity(socket: TLSSocket, trustDomain: string, roots?: TrustRoots): Peer | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate(true);
  let svid: CheckedSvid;
  try {
    svid = checkPeerSvid(cert, 'tls-client', trustDomain, roots);
  } catch (error) {
    if (!(error instanceof SvidProfileError)) throw error;
    (socket as PeerSocket)[REFUSAL] = error;
    return undefined;
  }
  const peer = { spiffeId: svid.spiffeId, serial: cert.serialNumber };
  (socket as PeerSocket)[PEER] = peer;
  return peer;
}

export function peerOf(socket: unknown): Peer | undefined {
  return (socket as PeerSocket)[PEER];
}

/** Why pinPeerIdentity refused the socket's client certificate (the rule it breaks), for the log. */
export function peerRefusalOf(socket: unknown): SvidProfileError | undefined {
  return (socket as PeerSocket)[REFUSAL];
}

/** The chain, leaf first, up to the self-signed root (node links it to itself). */
function presentedChain(cert: DetailedPeerCertificate): Buffer[] {
  const chain: Buffer[] = [];
  for (let c: DetailedPeerCertificate | undefined = cert; c?.raw && chain.length < 8; c = c.issuerCertificate) {
    chain.push(c.raw);
    if (c.issuerCertificate === c) break;
  }
  return chain;
}

let parsedBundle: { pem: string; roots: X509Certificate[] } | undefined;

function rootsOf(roots: TrustRoots): readonly X509Certificate[] {
  if (typeof roots !== 'string') return roots;
  if (parsedBundle?.pem !== roots) parsedBundle = { pem: roots, roots: parseTrustBundle(roots) };
  return parsedBundle.roots;
}

let anchored: { raw: string; roots: X509Certificate[] } | undefined;

/** The self-signed end of the chain OpenSSL built, as the one root (the last one seen is kept). */
function anchorOf(chain: Buffer[]): readonly X509Certificate[] {
  if (chain.length < 2) return [];
  const raw = chain[chain.length - 1].toString('base64');
  if (anchored?.raw !== raw) {
    let last: X509Certificate | undefined;
    try {
      last = new X509Certificate(chain[chain.length - 1]);
    } catch {
      // Not a certificate node can read: no anchor, so the chain is refused ('chain').
    }
    anchored = { raw, roots: last && last.issuer === last.subject && last.verify(last.publicKey) ? [last] : [] };
  }
  return anchored.roots;
}
