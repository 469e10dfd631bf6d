import { EnvelopeError } from './envelope-error';
import { assertEncryptionContext, sortedEntries, type EncryptionContext } from './encryption-context';

/** "RMEV": ReelMesh envelope. */
export const MAGIC = Buffer.from('RMEV', 'ascii');
export const FORMAT_VERSION = 1;
/** Suite 1: AES-256-GCM frames, HKDF-SHA256 key derivation and key commitment. */
export const SUITE_AES256_GCM_HKDF_SHA256_COMMIT = 1;

export const NONCE_PREFIX_BYTES = 7;
export const OBJECT_ID_BYTES = 16;
export const COMMITMENT_BYTES = 32;
export const DATA_KEY_BYTES = 32;
export const TAG_BYTES = 16;

/**
 * 1 MiB: a frame costs a cipher object, a tag, a transform step and a write whatever its size;
 * sealing into a file takes about 0.56x the CPU of 64 KiB frames (`reelmesh bench --only
 * envelope`). A stream holds a few frames, so memory stays bounded whatever the object's size.
 */
export const DEFAULT_FRAME_SIZE = 1024 * 1024;
export const MIN_FRAME_SIZE = 1;
export const MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** magic(4) version(1) suite(1) headerLength(4): enough to know how much more to read. */
export const FIXED_PREFIX_BYTES = 10;
export const MAX_HEADER_BYTES = 64 * 1024;
const MAX_KEY_ID_BYTES = 2048;
const MAX_WRAPPED_KEY_BYTES = 4096;

export interface EnvelopeHeader {
  version: number;
  suite: number;
  /** Plaintext bytes per frame (every frame but the last holds exactly this many). */
  frameSize: number;
  noncePrefix: Buffer;
  objectId: Buffer;
  /** The KMS key that wrapped the data key (as KMS reported it, usually an ARN). */
  keyId: string;
  context: EncryptionContext;
  wrappedKey: Buffer;
  commitment: Buffer;
}

/** A parsed header plus its exact bytes (hashed into every frame's associated data). */
export interface ParsedHeader extends EnvelopeHeader {
  bytes: Buffer;
}

export function assertFrameSize(frameSize: number): void {
  if (!Number.isInteger(frameSize) || frameSize < MIN_FRAME_SIZE || frameSize > MAX_FRAME_SIZE) {
    throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `frame size must be an integer in [${MIN_FRAME_SIZE}, ${MAX_FRAME_SIZE}], got ${frameSize}`);
  }
}

/** Serializes a header; the layout is specified in docs/envelope-format.md. */
export function encodeHeader(header: Omit<EnvelopeHeader, 'version' | 'suite'>): Buffer {
  assertFrameSize(header.frameSize);
  assertEncryptionContext(header.context);
  if (header.noncePrefix.length !== NONCE_PREFIX_BYTES) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `nonce prefix must be ${NONCE_PREFIX_BYTES} bytes`);
  if (header.objectId.length !== OBJECT_ID_BYTES) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `object id must be ${OBJECT_ID_BYTES} bytes`);
  if (header.commitment.length !== COMMITMENT_BYTES) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `commitment must be ${COMMITMENT_BYTES} bytes`);
  const keyId = Buffer.from(header.keyId, 'utf8');
  if (keyId.length === 0 || keyId.length > MAX_KEY_ID_BYTES) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `key id must be 1..${MAX_KEY_ID_BYTES} bytes`);
  if (header.wrappedKey.length === 0 || header.wrappedKey.length > MAX_WRAPPED_KEY_BYTES) {
    throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `wrapped key must be 1..${MAX_WRAPPED_KEY_BYTES} bytes`);
  }

  const parts: Buffer[] = [];
  const u8 = (n: number) => parts.push(Buffer.of(n));
  const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); parts.push(b); };
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); parts.push(b); };
  const bytes16 = (b: Buffer) => { u16(b.length); parts.push(b); };

  parts.push(MAGIC);
  u8(FORMAT_VERSION);
  u8(SUITE_AES256_GCM_HKDF_SHA256_COMMIT);
  const lengthAt = parts.length;
  u32(0); // patched below once the total is known
  u32(header.frameSize);
  parts.push(header.noncePrefix, header.objectId);
  bytes16(keyId);
  const entries = sortedEntries(header.context);
  u16(entries.length);
  for (const [key, value] of entries) {
    bytes16(Buffer.from(key, 'utf8'));
    bytes16(Buffer.from(value, 'utf8'));
  }
  bytes16(header.wrappedKey);
  parts.push(header.commitment);

  const out = Buffer.concat(parts);
  if (out.length > MAX_HEADER_BYTES) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `header would be ${out.length} bytes (max ${MAX_HEADER_BYTES})`);
  out.writeUInt32BE(out.length, lengthAtOffset(parts, lengthAt));
  return out;
}

function lengthAtOffset(parts: Buffer[], index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i++) offset += parts[i].length;
  return offset;
}

/**
 * Reads the fixed prefix; returns the total header length. Throws ENVELOPE_BAD_HEADER if the
 * bytes are not an envelope of a version and suite we read.
 */
export function headerLengthFromPrefix(prefix: Buffer): number {
  if (prefix.length < FIXED_PREFIX_BYTES) throw new EnvelopeError('ENVELOPE_TRUNCATED', 'input ended inside the envelope header');
  if (!prefix.subarray(0, 4).equals(MAGIC)) throw new EnvelopeError('ENVELOPE_BAD_HEADER', 'not a ReelMesh envelope (bad magic)');
  if (prefix[4] !== FORMAT_VERSION) throw new EnvelopeError('ENVELOPE_BAD_HEADER', `unsupported envelope version ${prefix[4]}`);
  if (prefix[5] !== SUITE_AES256_GCM_HKDF_SHA256_COMMIT) throw new EnvelopeError('ENVELOPE_BAD_HEADER', `unsupported envelope suite ${prefix[5]}`);
  const length = prefix.readUInt32BE(6);
  if (length < FIXED_PREFIX_BYTES || length > MAX_HEADER_BYTES) throw new EnvelopeError('ENVELOPE_BAD_HEADER', `header length ${length} out of range`);
  return length;
}

/**
 * Parses exactly one header from the start of `buffer` (which must hold all of it). Strict:
 * canonical context order, valid UTF-8, no trailing bytes inside the declared length.
 */
export function decodeHeader(buffer: Buffer): ParsedHeader {
  const length = headerLengthFromPrefix(buffer);
  if (buffer.length < length) throw new EnvelopeError('ENVELOPE_TRUNCATED', 'input ended inside the envelope header');
  const bytes = buffer.subarray(0, length);
  let at = FIXED_PREFIX_BYTES;
  const bad = (what: string) => new EnvelopeError('ENVELOPE_BAD_HEADER', `malformed envelope header: ${what}`);
  const take = (n: number, what: string): Buffer => {
    if (at + n > length) throw bad(`${what} runs past the header end`);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const u16 = (what: string) => take(2, what).readUInt16BE(0);
  const text = (what: string, max: number, allowEmpty: boolean): string => {
    const raw = take(u16(what), what);
    if ((!allowEmpty && raw.length === 0) || raw.length > max) throw bad(`${what} length`);
    const value = raw.toString('utf8');
    if (!Buffer.from(value, 'utf8').equals(raw)) throw bad(`${what} is not valid UTF-8`);
    return value;
  };

  const frameSize = take(4, 'frame size').readUInt32BE(0);
  if (frameSize < MIN_FRAME_SIZE || frameSize > MAX_FRAME_SIZE) throw bad(`frame size ${frameSize}`);
  const noncePrefix = Buffer.from(take(NONCE_PREFIX_BYTES, 'nonce prefix'));
  const objectId = Buffer.from(take(OBJECT_ID_BYTES, 'object id'));
  const keyId = text('key id', MAX_KEY_ID_BYTES, false);
  const count = u16('context count');
  const context: EncryptionContext = Object.create(null);
  let previous: Buffer | undefined;
  for (let i = 0; i < count; i++) {
    const key = text('context key', 1024, false);
    const keyBytes = Buffer.from(key, 'utf8');
    if (previous && Buffer.compare(previous, keyBytes) >= 0) throw bad('context keys not in canonical order');
    previous = keyBytes;
    context[key] = text('context value', 1024, true);
  }
  const wrappedLength = u16('wrapped key length');
  if (wrappedLength === 0 || wrappedLength > MAX_WRAPPED_KEY_BYTES) throw bad('wrapped key length');
  const wrappedKey = Buffer.from(take(wrappedLength, 'wrapped key'));
  const commitment = Buffer.from(take(COMMITMENT_BYTES, 'commitment'));
  if (at !== length) throw bad('trailing bytes inside the header');
  return {
    version: bytes[4],
    suite: bytes[5],
    frameSize,
    noncePrefix,
    objectId,
    keyId,
    context: { ...context },
    wrappedKey,
    commitment,
    bytes: Buffer.from(bytes),
  };
}
