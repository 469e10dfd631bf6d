import { sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';

// DSSE (Dead Simple Signing Envelope) v1: the signature covers the Pre-Authentication Encoding
// of (payloadType, payload), so a payload can never be re-read as another type.

export interface DsseSignature {
  keyid: string;
  /** base64 DER ECDSA P-256 / SHA-256 signature over PAE(payloadType, payload). */
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function signEnvelope(payloadType: string, payload: Buffer, key: KeyObject, keyid = ''): DsseEnvelope {
  const sig = nodeSign('sha256', pae(payloadType, payload), { key, dsaEncoding: 'der' });
  return { payloadType, payload: payload.toString('base64'), signatures: [{ keyid, sig: sig.toString('base64') }] };
}

/** True when any signature on the envelope verifies under `key`. */
export function verifyEnvelope(envelope: DsseEnvelope, key: KeyObject): boolean {
  const message = pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
  return envelope.signatures.some((s) => {
    try {
      return nodeVerify('sha256', message, { key, dsaEncoding: 'der' }, Buffer.from(s.sig, 'base64'));
    } catch {
      return false;
    }
  });
}

export function isDsseEnvelope(value: unknown): value is DsseEnvelope {
  const v = value as DsseEnvelope;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.payloadType === 'string' &&
    typeof v.payload === 'string' &&
    Array.isArray(v.signatures) &&
    v.signatures.length > 0 &&
    v.signatures.every((s) => typeof s === 'object' && s !== null && typeof s.sig === 'string')
  );
}
