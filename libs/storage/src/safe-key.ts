/** One path segment of an object key: letters, digits, dot, dash, underscore; no dot-only names. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export class UnsafeKeyError extends Error {
  readonly code = 'UNSAFE_NAME';
  constructor(readonly key: string) {
    super(`unsafe object name ${JSON.stringify(key)}: use letters, digits, '.', '-', '_' separated by '/', no '..'`);
  }
}

export function isSafeSegment(segment: string): boolean {
  return SEGMENT.test(segment) && !/^\.+$/.test(segment);
}

/** Validate a relative key such as `feature-film/demux/av/00003.mkv`; throws UnsafeKeyError. */
export function safeKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512) throw new UnsafeKeyError(String(key));
  const segments = key.split('/');
  if (!segments.every(isSafeSegment)) throw new UnsafeKeyError(key);
  return key;
}
