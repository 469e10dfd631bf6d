import { createHash } from 'node:crypto';
import { BundleError } from './bundle-error';

// The file digest OPA's bundle signing uses (bundle/hash.go): raw bytes for policies, and for
// structured documents (data.json, .manifest) a digest of the parsed value re-encoded with object
// keys sorted and no whitespace, so formatting does not change the signature.

export const HASH_ALGORITHM = 'SHA-256';

export function isStructuredDoc(path: string): boolean {
  const base = path.split('/').pop();
  return base === 'data.json' || base === '.manifest' || base === '.signatures.json';
}

export function opaFileHash(path: string, content: Buffer): string {
  const hash = createHash('sha256');
  if (!isStructuredDoc(path)) return hash.update(content).digest('hex');
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new BundleError('BUNDLE_MALFORMED', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  walk(value, (s) => hash.update(s, 'utf8'));
  return hash.digest('hex');
}

function walk(value: unknown, write: (s: string) => void): void {
  if (Array.isArray(value)) {
    write('[');
    value.forEach((item, i) => {
      if (i > 0) write(',');
      walk(item, write);
    });
    write(']');
  } else if (value !== null && typeof value === 'object') {
    write('{');
    Object.keys(value)
      .sort()
      .forEach((key, i) => {
        if (i > 0) write(',');
        write(primitive(key));
        write(':');
        walk((value as Record<string, unknown>)[key], write);
      });
    write('}');
  } else {
    write(primitive(value));
  }
}

/** Go's json.Encoder (SetEscapeHTML(false)) also escapes U+2028/U+2029; JSON.stringify does not. */
function primitive(value: unknown): string {
  return JSON.stringify(value).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
