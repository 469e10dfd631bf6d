import { EnvelopeError } from './envelope-error';

/** KMS encryption context: a flat string -> string map (KMS accepts nothing else). */
export type EncryptionContext = Record<string, string>;

/**
 * The context entry naming the object itself. It is stored in the header and authenticated
 * with every frame, but NOT sent to KMS: that lets one data key be cached across the objects
 * of one (workflow, step, agent, recipients) partition while each object still opens only
 * under its own name.
 */
export const OBJECT_CONTEXT_KEY = 'object';

const MAX_ENTRIES = 64;
const MAX_FIELD_BYTES = 1024;

/** Throws ENVELOPE_BAD_OPTIONS unless `context` is a plain map of non-empty string keys to strings. */
export function assertEncryptionContext(context: unknown): asserts context is EncryptionContext {
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', 'encryption context must be an object of strings');
  }
  const entries = Object.entries(context);
  if (entries.length > MAX_ENTRIES) {
    throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `encryption context has more than ${MAX_ENTRIES} entries`);
  }
  for (const [key, value] of entries) {
    if (key.length === 0 || typeof value !== 'string') {
      throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `encryption context entry ${JSON.stringify(key)} must map a non-empty key to a string`);
    }
    if (Buffer.byteLength(key) > MAX_FIELD_BYTES || Buffer.byteLength(value) > MAX_FIELD_BYTES) {
      throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `encryption context entry ${JSON.stringify(key)} is longer than ${MAX_FIELD_BYTES} bytes`);
    }
    if (!isWellFormed(key) || !isWellFormed(value)) {
      throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', `encryption context entry ${JSON.stringify(key)} is not valid Unicode`);
    }
  }
}

/** Entries sorted by the UTF-8 bytes of their keys: the one canonical order (header and comparisons). */
export function sortedEntries(context: EncryptionContext): [string, string][] {
  return Object.entries(context).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A canonical string for equality checks and cache keys. */
export function canonicalContext(context: EncryptionContext): string {
  return JSON.stringify(sortedEntries(context));
}

export function sameContext(a: EncryptionContext, b: EncryptionContext): boolean {
  return canonicalContext(a) === canonicalContext(b);
}

/** What is sent to KMS: the context without the per-object name (see OBJECT_CONTEXT_KEY). */
export function kmsContextOf(context: EncryptionContext): EncryptionContext {
  const { [OBJECT_CONTEXT_KEY]: _object, ...rest } = context;
  return rest;
}

/** Lone surrogates would not survive a UTF-8 round trip, so they are refused up front. */
function isWellFormed(text: string): boolean {
  return Buffer.from(text, 'utf8').toString('utf8') === text;
}
