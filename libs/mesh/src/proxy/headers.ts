import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { POD_TOKEN_HEADER } from './pod-token';

/** The only identity header the app may read; set by the inbound proxy from the verified cert. */
export const PEER_HEADER = 'x-reelmesh-peer';

// Identity claims a caller could forge. The peer's identity comes ONLY from its certificate.
const UNTRUSTED = new Set(['x-forwarded-client-cert', 'authorization', 'proxy-authorization']);
const UNTRUSTED_PREFIX = 'x-reelmesh-';

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function isUntrusted(name: string): boolean {
  return UNTRUSTED.has(name) || name.startsWith(UNTRUSTED_PREFIX);
}

/**
 * Caller headers with identity claims removed, as strings (what the policy sees and what the app
 * gets). Node already lower-cases names; repeated headers are joined the way HTTP allows.
 */
export function trustedRequestHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    if (isUntrusted(name) || HOP_BY_HOP.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}

/** Headers an outbound request carries to the mesh (hop-by-hop removed; the pod's token stays in the pod). */
export function forwardableHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name === POD_TOKEN_HEADER) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Response headers passed back to the caller (hop-by-hop removed). */
export const forwardableResponseHeaders = forwardableHeaders;
