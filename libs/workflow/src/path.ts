// Field paths inside the workflow document, kept as segments until a message is rendered,
// so the same path can both be printed ("edges[3].to") and looked up in the YAML tree.

export type PathSegment = string | number;

/** A problem before it has a line/column: `at` is where it is; `atKey` points at the key, not the value. */
export interface RawIssue {
  readonly at: readonly PathSegment[];
  readonly message: string;
  readonly atKey?: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ['edges', 3, 'to'] -> 'edges[3].to'; odd keys are quoted: ['a b'] -> '["a b"]'. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Ajv's instancePath is a JSON Pointer ('/edges/3/to'); array indexes become numbers. */
export function fromJsonPointer(pointer: string, value: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let cursor: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment: PathSegment = Array.isArray(cursor) && /^\d+$/.test(token) ? Number(token) : token;
    segments.push(segment);
    cursor = cursor !== null && typeof cursor === 'object' ? (cursor as Record<string, unknown>)[token] : undefined;
  }
  return segments;
}
