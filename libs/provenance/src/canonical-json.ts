import { createHash } from 'node:crypto';

// One byte-exact JSON form for everything we hash or sign: RFC 8785, the JSON Canonicalization
// Scheme (JCS). Signatures and digests cover bytes, so one document must always serialize one way
// and two different documents must never serialize the same way.
//
// That second rule is why anything that is not plain JSON is REFUSED instead of coerced. Coercing
// is how collisions happen: a Date has no own keys (so a key-sorting walk turns it into {}), a
// Buffer walks as an index map, JSON.stringify would call toJSON (any object can then pose as any
// other), turn NaN into null and drop functions and symbols. So toJSON is never called, and the
// error names where the offending value sits, so the caller converts it explicitly
// (date.toISOString(), buffer.toString('base64')...).
//
// Accepted: null, booleans, finite numbers, well-formed strings, arrays, and objects whose
// prototype is Object.prototype or null. An object member whose value is `undefined` is ABSENT,
// as in JSON.stringify: { a: 1, b: undefined } is {"a":1}, so optional fields may be left unset.
// `undefined` anywhere else (the whole value, an array element or hole) is refused.

/** The RFC 8785 form of `value`; throws a TypeError naming the first non-JSON value found. */
export function canonicalJson(value: unknown): string {
  return serialize(value, '$', new Map());
}

function serialize(value: unknown, path: string, ancestors: Map<object, string>): string {
  switch (typeof value) {
    case 'string':
      return string(value, path, 'a string');
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // RFC 8785 §3.2.2.3: ECMAScript's Number serialization; it has no form for NaN or ±Infinity.
      if (!Number.isFinite(value)) return refuse(path, Number.isNaN(value) ? 'NaN' : String(value));
      return JSON.stringify(value); // -0 serializes as 0, like ECMAScript (and the RFC) says
    case 'object':
      return value === null ? 'null' : container(value, path, ancestors);
    case 'undefined':
      return refuse(path, 'undefined');
    default:
      return refuse(path, `a ${typeof value}`); // bigint, symbol, function
  }
}

function container(value: object, path: string, ancestors: Map<object, string>): string {
  const cycleStart = ancestors.get(value);
  if (cycleStart !== undefined) return refuse(path, `a cycle back to ${cycleStart}`);
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return refuse(path, kindOf(value));
  if (Object.getOwnPropertySymbols(value).length > 0) return refuse(path, 'an object with symbol-keyed members');
  ancestors.set(value, path);
  let out: string;
  if (isArray) {
    const items: string[] = [];
    // Index by index, so a hole reads as undefined and is refused like an undefined element.
    for (let i = 0; i < value.length; i++) items.push(serialize(value[i], `${path}[${i}]`, ancestors));
    out = `[${items.join(',')}]`;
  } else {
    const members: string[] = [];
    // RFC 8785 §3.2.3: sort by the keys' UTF-16 code units. JavaScript's `<` on strings compares
    // exactly those, and keys are unique, so this comparator is total. (Building a new object in
    // sorted order would NOT do: objects list integer-like keys such as "10" first.)
    for (const key of Object.keys(value).sort((a, b) => (a < b ? -1 : 1))) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue; // absent, as in JSON.stringify
      const at = `${path}${memberPath(key)}`;
      members.push(`${string(key, at, 'a member name')}:${serialize(member, at, ancestors)}`);
    }
    out = `{${members.join(',')}}`;
  }
  // Only the current path counts: the same object twice side by side is a DAG, not a cycle.
  ancestors.delete(value);
  return out;
}

// RFC 8785 §3.2.2.2: strings serialize as ECMAScript's JSON.stringify escapes them, and a lone
// surrogate (not Unicode, so not I-JSON) must make the canonicalization fail, not be escaped.
const LONE_SURROGATE = /\p{Surrogate}/u;

function string(text: string, path: string, kind: 'a string' | 'a member name'): string {
  if (LONE_SURROGATE.test(text)) return refuse(path, `${kind} holding a lone UTF-16 surrogate`);
  return JSON.stringify(text);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** "a Date", "a Buffer", "a Map", "an instance of Frame"... for the error message. */
function kindOf(value: object): string {
  if (Buffer.isBuffer(value)) return 'a Buffer';
  const tag = Object.prototype.toString.call(value).slice('[object '.length, -1);
  if (tag !== 'Object') return `${/^[AEIO]/.test(tag) ? 'an' : 'a'} ${tag}`;
  const name: unknown = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `an instance of ${name}` : 'an object whose prototype is not Object.prototype';
}

/** `.name` for identifier-like keys, `["some key"]` for the rest. */
function memberPath(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function refuse(path: string, what: string): never {
  throw new TypeError(`canonicalJson: ${path} is ${what}, not JSON`);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;
