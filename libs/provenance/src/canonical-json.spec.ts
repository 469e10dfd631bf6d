import { describe, expect, it, vi } from 'vitest';
import { canonicalJson, sha256Hex } from './canonical-json';
import { parametersDigest } from './record';

// The RFC 8785 vectors below (the §3.2.2 sample, its §3.2.4 UTF-8 bytes, the §3.2.3 sorting
// example and the Appendix B number table) are transcribed from the RFC, and were cross-checked
// against the same vectors as published in the test suites of independent JCS implementations.

/** The double whose IEEE-754 bits are `hex` (Appendix B names its numbers this way). */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

function refusal(value: unknown): string {
  try {
    canonicalJson(value);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  throw new Error('canonicalJson accepted a value that is not JSON');
}

describe('canonicalJson follows RFC 8785 (JCS)', () => {
  it('§3.2.2: the sample document, and its §3.2.4 UTF-8 bytes', () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    const output = canonicalJson(input);
    expect(output).toBe(String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`);
    expect(Buffer.from(output, 'utf8').toString('hex')).toBe(
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b333333333333333333' +
        '2e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c753030' +
        '30665c6e4127425c225c5c5c5c5c222f227d',
    );
  });

  it('§3.2.3: members sorted by UTF-16 code units (the emoji before U+FB33, "1" in its place)', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`);
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('sorts integer-like keys as strings too (JS objects would list them first)', () => {
    expect(canonicalJson({ b: { z: 1, a: [{ y: 2, x: 3 }] }, 10: 'ten', 9: 'nine', a: null })).toBe('{"10":"ten","9":"nine","a":null,"b":{"a":[{"x":3,"y":2}],"z":1}}');
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('Appendix B: the double %s serializes as %s', (bits, text) => {
    expect(canonicalJson(fromBits(bits))).toBe(text);
    expect(canonicalJson([fromBits(bits)])).toBe(`[${text}]`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
    ['fff0000000000000', '-Infinity'],
  ])('Appendix B: the double %s (%s) has no JSON form and is refused', (bits, what) => {
    expect(refusal({ n: fromBits(bits) })).toBe(`canonicalJson: $.n is ${what}, not JSON`);
  });

  it('escapes strings as ECMAScript does: short escapes, \\u00xx below 0x20, nothing else', () => {
    expect(canonicalJson('\u0000\b\t\n\f\r\u001f\u007f"\\/\u2028é\ud83d\ude00')).toBe('"\\u0000\\b\\t\\n\\f\\r\\u001f\u007f\\"\\\\/\u2028é\ud83d\ude00"');
  });
});

describe('canonicalJson takes plain JSON only', () => {
  it('leaves members whose value is undefined out: they are absent, as in JSON.stringify', () => {
    expect(canonicalJson({ a: 1, b: undefined, c: { d: undefined } })).toBe('{"a":1,"c":{}}');
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('accepts null-prototype objects, shared (acyclic) references and an own "__proto__" member', () => {
    const shared = { v: 1 };
    expect(canonicalJson(Object.assign(Object.create(null) as object, { b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
    expect(canonicalJson({ a: shared, b: [shared, shared] })).toBe('{"a":{"v":1},"b":[{"v":1},{"v":1}]}');
    expect(canonicalJson(JSON.parse('{"z":0,"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1},"z":0}');
  });

  class Frame {
    constructor(readonly index: number) {}
  }
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = { back: [cyclic] };

  it.each<[string, unknown, string]>([
    ['a Date', { parameters: { when: new Date(0) } }, '$.parameters.when is a Date'],
    ['a Buffer', { lut: Buffer.from([1, 2]) }, '$.lut is a Buffer'],
    ['a typed array', { samples: new Float32Array(2) }, '$.samples is a Float32Array'],
    ['a Uint8Array', [new Uint8Array(1)], '$[0] is a Uint8Array'],
    ['an ArrayBuffer', { raw: new ArrayBuffer(4) }, '$.raw is an ArrayBuffer'],
    ['a DataView', { raw: new DataView(new ArrayBuffer(4)) }, '$.raw is a DataView'],
    ['a Map', { tracks: new Map([['a', 1]]) }, '$.tracks is a Map'],
    ['a Set', { tags: new Set(['x']) }, '$.tags is a Set'],
    ['a RegExp', { match: /x/ }, '$.match is a RegExp'],
    ['a class instance', { frame: new Frame(3) }, '$.frame is an instance of Frame'],
    ['an object with another prototype', { o: Object.create({ inherited: 1 }) }, '$.o is an object whose prototype is not Object.prototype'],
    ['a boxed string', { s: new String('x') }, '$.s is a String'],
    ['a function', { run: () => 1 }, '$.run is a function'],
    ['a symbol', { tag: Symbol('x') }, '$.tag is a symbol'],
    ['a symbol-keyed member', { o: { [Symbol('k')]: 1 } }, '$.o is an object with symbol-keyed members'],
    ['a bigint', { size: 10n }, '$.size is a bigint'],
    ['NaN', { gain: NaN }, '$.gain is NaN'],
    ['+Infinity', { gain: Infinity }, '$.gain is Infinity'],
    ['-Infinity', { gain: -Infinity }, '$.gain is -Infinity'],
    ['undefined in an array', { list: [1, undefined] }, '$.list[1] is undefined'],
    ['a hole in an array', { list: [1, , 3] }, '$.list[1] is undefined'],
    ['undefined itself', undefined, '$ is undefined'],
    ['a cycle', cyclic, '$.self.back[0] is a cycle back to $'],
    ['a lone surrogate in a string', { s: 'a\ud800' }, '$.s is a string holding a lone UTF-16 surrogate'],
    ['a lone surrogate in a member name', { 'x\udc00': 1 }, '$["x\\udc00"] is a member name holding a lone UTF-16 surrogate'],
    ['an odd member name in the path', { 'sound master': { at: new Date(0) } }, '$["sound master"].at is a Date'],
  ])('refuses %s, naming where it is', (_kind, value, where) => {
    expect(refusal(value)).toBe(`canonicalJson: ${where}, not JSON`);
  });

  it('never calls toJSON: an object cannot pose as another', () => {
    const toJSON = vi.fn(() => ({ job: 'grade' }));
    expect(refusal({ job: 'vfx', toJSON })).toBe('canonicalJson: $.toJSON is a function, not JSON');
    expect(toJSON).not.toHaveBeenCalled();
  });

  it('a Date or a Buffer can no longer hash like {} or an index map: they are refused', () => {
    // What the old key-sorting walk made of them, and what those documents hash as now.
    const empty = { parameters: { when: {} } };
    const indexMap = { parameters: { lut: { 0: 7, 1: 9 } } };
    expect(canonicalJson(empty)).toBe('{"parameters":{"when":{}}}');
    expect(canonicalJson(indexMap)).toBe('{"parameters":{"lut":{"0":7,"1":9}}}');

    expect(refusal({ parameters: { when: new Date(0) } })).toBe('canonicalJson: $.parameters.when is a Date, not JSON');
    expect(refusal({ parameters: { lut: Buffer.from([7, 9]) } })).toBe('canonicalJson: $.parameters.lut is a Buffer, not JSON');
    expect(() => parametersDigest({ when: new Date(0) })).toThrow(new TypeError('canonicalJson: $.when is a Date, not JSON'));

    // Converted explicitly, as callers must, they are different documents with different digests.
    const dated = { parameters: { when: new Date(0).toISOString() } };
    const encoded = { parameters: { lut: Buffer.from([7, 9]).toString('base64') } };
    expect(canonicalJson(dated)).toBe('{"parameters":{"when":"1970-01-01T00:00:00.000Z"}}');
    expect(canonicalJson(encoded)).toBe('{"parameters":{"lut":"Bwk="}}');
    expect(sha256Hex(canonicalJson(dated))).not.toBe(sha256Hex(canonicalJson(empty)));
    expect(sha256Hex(canonicalJson(encoded))).not.toBe(sha256Hex(canonicalJson(indexMap)));
  });
});
