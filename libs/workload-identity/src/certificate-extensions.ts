// The four X.509 extensions the SVID profile reads that node's X509Certificate does not expose
// (RFC 5280 §4.2.1): basicConstraints with its pathLenConstraint, the keyUsage bits, the
// extendedKeyUsage purposes and the subjectAltName URIs. A strict DER reader of a certificate's
// extensions, nothing more: a general ASN.1 library (@peculiar/x509 and its schema stack, 0.8 MB)
// was most of a proxy's start-up CPU and all it did was this. Anything the reader does not expect
// throws; the profile turns that into a 'malformed' refusal. Cross-checked against @peculiar/x509
// on every certificate the specs mint and on mutated ones (certificate-extensions.spec).

/** keyUsage bits, numbered as RFC 5280 §4.2.1.3 names them (bit 0 is digitalSignature). */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

export interface CertificateExtensions {
  /** Every extension's OID, in the certificate's order (repeats included). */
  oids: string[];
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** KEY_USAGE bits; undefined without the extension. */
  keyUsage?: number;
  /** The extendedKeyUsage purposes (OIDs); undefined without the extension. */
  extendedKeyUsage?: string[];
  /** The uniformResourceIdentifier names of every subjectAltName extension. */
  uris: string[];
}

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extendedKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
} as const;

const TAG = { boolean: 0x01, integer: 0x02, bitString: 0x03, octetString: 0x04, oid: 0x06, sequence: 0x30, extensions: 0xa3, uri: 0x86 } as const;

interface Tlv {
  tag: number;
  /** The value's first byte and the byte after it. */
  start: number;
  end: number;
}

class DerError extends Error {}

/** Reads the extensions of a DER certificate (node's X509Certificate.raw). Throws on anything malformed. */
export function readCertificateExtensions(der: Uint8Array): CertificateExtensions {
  const certificate = one(der, 0, der.length, TAG.sequence);
  const tbs = children(der, certificate)[0];
  if (tbs?.tag !== TAG.sequence) throw new DerError('no TBSCertificate');
  const result: CertificateExtensions = { oids: [], uris: [] };
  const wrapper = children(der, tbs).find((field) => field.tag === TAG.extensions);
  if (!wrapper) return result;
  const list = one(der, wrapper.start, wrapper.end, TAG.sequence);
  for (const extension of children(der, list)) {
    if (extension.tag !== TAG.sequence) throw new DerError('an extension is not a SEQUENCE');
    const fields = children(der, extension);
    const [id, ...rest] = fields;
    if (id?.tag !== TAG.oid) throw new DerError('an extension has no extnID');
    if (rest.length === 2 && rest[0].tag !== TAG.boolean) throw new DerError('an extension\'s critical flag is not a BOOLEAN');
    const value = rest[rest.length - 1];
    if (rest.length < 1 || rest.length > 2 || value.tag !== TAG.octetString) throw new DerError('an extension has no extnValue');
    const oid = readOid(der, id);
    result.oids.push(oid);
    if (oid === OID.basicConstraints) result.basicConstraints = basicConstraints(der, value);
    else if (oid === OID.keyUsage) result.keyUsage = keyUsage(der, value);
    else if (oid === OID.extendedKeyUsage) result.extendedKeyUsage = children(der, one(der, value.start, value.end, TAG.sequence)).map((purpose) => readOid(der, purpose));
    else if (oid === OID.subjectAltName) result.uris.push(...subjectAltNameUris(der, value));
  }
  return result;
}

function basicConstraints(der: Uint8Array, value: Tlv): { ca: boolean; pathLength?: number } {
  const fields = children(der, one(der, value.start, value.end, TAG.sequence));
  let next = 0;
  let ca = false;
  if (fields[next]?.tag === TAG.boolean) ca = readBoolean(der, fields[next++]);
  let pathLength: number | undefined;
  if (fields[next]?.tag === TAG.integer) pathLength = readSmallInteger(der, fields[next++]);
  if (next !== fields.length) throw new DerError('basicConstraints holds more than cA and pathLenConstraint');
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

function keyUsage(der: Uint8Array, value: Tlv): number {
  const bits = one(der, value.start, value.end, TAG.bitString);
  const length = bits.end - bits.start;
  const unused = der[bits.start];
  if (length < 1 || unused > 7 || (length === 1 && unused !== 0)) throw new DerError('keyUsage is not a BIT STRING');
  const count = (length - 1) * 8 - unused;
  let flags = 0;
  for (let bit = 0; bit < Math.min(count, 9); bit++) {
    if ((der[bits.start + 1 + (bit >> 3)] >> (7 - (bit & 7))) & 1) flags |= 1 << bit;
  }
  return flags;
}

function subjectAltNameUris(der: Uint8Array, value: Tlv): string[] {
  const names = children(der, one(der, value.start, value.end, TAG.sequence));
  if (names.length === 0) throw new DerError('subjectAltName is empty');
  return names.filter((name) => name.tag === TAG.uri).map((name) => Buffer.from(der.subarray(name.start, name.end)).toString('latin1'));
}

function readOid(der: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== TAG.oid || tlv.end === tlv.start) throw new DerError('not an OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let arc = 0;
  for (let at = tlv.start; at < tlv.end; at++) {
    if (arc === 0 && der[at] === 0x80) throw new DerError('an OID arc is not minimally encoded');
    arc = arc * 128 + (der[at] & 0x7f);
    if (arc > Number.MAX_SAFE_INTEGER / 128) throw new DerError('an OID arc is too large');
    if (!(der[at] & 0x80)) {
      if (arcs.length === 0) arcs.push(arc < 40 ? 0 : arc < 80 ? 1 : 2, arc < 80 ? arc % 40 : arc - 80);
      else arcs.push(arc);
      arc = 0;
    } else if (at === tlv.end - 1) throw new DerError('an OID ends in the middle of an arc');
  }
  return arcs.join('.');
}

function readBoolean(der: Uint8Array, tlv: Tlv): boolean {
  if (tlv.end - tlv.start !== 1) throw new DerError('a BOOLEAN is not one byte');
  return der[tlv.start] !== 0;
}

function readSmallInteger(der: Uint8Array, tlv: Tlv): number {
  const length = tlv.end - tlv.start;
  if (length < 1 || length > 4 || der[tlv.start] & 0x80) throw new DerError('pathLenConstraint is not a small non-negative INTEGER');
  let value = 0;
  for (let at = tlv.start; at < tlv.end; at++) value = value * 256 + der[at];
  return value;
}

/** The one element that fills [start, end), with the tag expected. */
function one(der: Uint8Array, start: number, end: number, tag: number): Tlv {
  const tlv = readTlv(der, start, end);
  if (tlv.tag !== tag || tlv.end !== end) throw new DerError(`expected one element of tag 0x${tag.toString(16)}`);
  return tlv;
}

/** The elements that fill a constructed element's value exactly. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(der, at, parent.end);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

/** One tag-length-value at `at`, inside [at, limit): low tag numbers only, definite lengths only. */
function readTlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new DerError('truncated');
  const tag = der[at];
  if ((tag & 0x1f) === 0x1f) throw new DerError('a high tag number');
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new DerError('a length that is indefinite, too long or truncated');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i];
    start += bytes;
  }
  if (start + length > limit) throw new DerError('truncated');
  return { tag, start, end: start + length };
}
