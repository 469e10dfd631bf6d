import type { TLSSocket } from 'node:tls';
import { readSpiffeId, spiffeIdOfCertificate } from '@reelmesh/addressing';

export interface Peer {
  spiffeId: string;
  serial: string;
}

const PEER = Symbol('reelmesh.peer');
type PeerSocket = TLSSocket & { [PEER]?: Peer };

/**
 * Reads the verified peer's SPIFFE id once per connection (not per request) and pins it on the
 * socket. A peer without exactly one SPIFFE URI SAN in our trust domain is disconnected.
 */
export function pinPeerIdentity(socket: TLSSocket, trustDomain: string): Peer | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const spiffeId = spiffeIdOfCertificate(cert);
  if (!spiffeId || readSpiffeId(spiffeId)?.trustDomain !== trustDomain) return undefined;
  const peer = { spiffeId, serial: cert.serialNumber };
  (socket as PeerSocket)[PEER] = peer;
  return peer;
}

export function peerOf(socket: unknown): Peer | undefined {
  return (socket as PeerSocket)[PEER];
}
