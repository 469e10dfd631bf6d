import { sign, verify, type KeyObject } from 'node:crypto';

// Compact JWS with ES256 (ECDSA P-256, SHA-256; signature is r||s, RFC 7518 §3.4).

export function signJwtEs256(payload: object, key: KeyObject, header: Record<string, string> = {}): string {
  const head = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', ...header }));
  const body = b64url(JSON.stringify(payload));
  const sig = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${head}.${body}.${sig.toString('base64url')}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** Decode without verifying (to read claims such as keyid). */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('not a compact JWT');
  return {
    header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

export function verifyJwtEs256(token: string, key: KeyObject): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const header = decodeJwt(token).header;
  if (header.alg !== 'ES256') return false; // never let the token pick its algorithm
  try {
    return verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2], 'base64url'));
  } catch {
    return false;
  }
}

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
