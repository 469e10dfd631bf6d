// normalizeRequestPath against the examples of Istio's "Authorization Policy Normalization" page
// (DECODE_AND_MERGE_SLASHES) and Envoy's own path_utility tests (normalize_path, merge_slashes).
import { describe, expect, it } from 'vitest';
import { normalizeRequestPath, PATH_NOT_NORMALIZABLE } from './index';

const normalised = (raw: string) => {
  const result = normalizeRequestPath(raw);
  if (!result.ok) throw new Error(`${raw} refused: ${result.reason}`);
  return result.target;
};

describe('normalizeRequestPath: Istio DECODE_AND_MERGE_SLASHES', () => {
  it.each([
    // Istio's page, one example per rule.
    ['/some%2fdata/%61%62%63', '/some/data/abc'], // %2f decoded (DECODE_AND_MERGE_SLASHES), unreserved letters decoded
    ['/some\\data', '/some/data'], // backslash -> slash
    ['/some//data///abc', '/some/data/abc'], // merged slashes
    ['/public/./data/abc/../xyz', '/public/data/xyz'], // dot segments
    ['/a%2Fb', '/a/b'],
    ['/a%5cb', '/a/b'], // %5c -> '\' -> '/'
    ['/a%5Cb', '/a/b'],
    ['/%2d%2e%5f%7e', '/-._~'],
    ['/%30%39%41%5A%61%7a', '/09AZaz'],
    // Envoy's normalize_path (path_utility_test.cc).
    ['/a/b/../c', '/a/c'],
    ['/a/b/./c', '/a/b/c'],
    ['/a/b/../../../../c', '/c'],
    ['/a/..\\c', '/c'],
    ['/%c0%af', '/%c0%af'], // not unreserved: kept as sent
    ['/a/b/%2E%2E/c', '/a/c'],
    ['/a/b/%2e%2e/c', '/a/c'],
    ['/a/b/%2E./c', '/a/c'],
    ['/a/b/%2E/c', '/a/b/c'],
    ['/../a/b', '/a/b'],
    ['/./a/b', '/a/b'],
    ['/A/B/C', '/A/B/C'], // no case folding
    ['/a/b/..', '/a/'],
    ['/..', '/'],
    // Envoy's merge_slashes: the query is never touched.
    ['/a//b?a=///c', '/a/b?a=///c'],
    ['/a//b?', '/a/b?'],
    ['//a/?b', '/a/?b'],
    // Normalisation happens once: no double decoding.
    ['/a/%252e%252e/b', '/a/%252e%252e/b'],
    ['/a/%25/b', '/a/%25/b'],
    // Decoding %2F comes before dot segments and merging, as Istio orders it.
    ['/a%2F..%2Fb', '/b'],
    ['/a/%2F/b', '/a/b'],
    ['/handoff/../admin', '/admin'],
  ])('%s -> %s', (raw, expected) => {
    expect(normalised(raw)).toBe(expected);
  });

  it('keeps the query apart and returns the parts', () => {
    expect(normalizeRequestPath('/a//./b/?x=%2F..//y')).toEqual({ ok: true, target: '/a/b/?x=%2F..//y', path: '/a/b/', query: '?x=%2F..//y' });
  });

  it('is idempotent: a normalised target normalises to itself', () => {
    for (const raw of ['/some%2fdata/%61%62%63', '/a%2F..%2Fb', '//x/./y/../z/?q=1', '/%c0%af/..', '/a/b/..']) {
      const once = normalised(raw);
      expect(normalised(once)).toBe(once);
    }
  });

  it.each([
    ['/a/%00/b', /%00/], // Istio: always 400
    ['/a%00', /%00/],
    ['/xyz/.%00../abc', /%00/], // Envoy's invalid paths
    ['/xyz/AAAAA%%0000/abc', /hex/],
    ['/a/%zz', /hex/],
    ['/a/%2', /hex/],
    ['/a/0#f', /fragment/], // Envoy rejects fragments
    ['/a?x#f', /fragment/],
    ['/a/b\u0000', /not allowed/],
    ['/a/b ', /not allowed/],
    ['/a/\u0661', /not allowed/],
    ['/a/"x"', /not allowed/],
    ['/a?x y', /not allowed in a query/],
    ['a/b', /origin-form/],
    ['', /origin-form/],
    ['*', /origin-form/],
  ])('refuses %j', (raw, reason) => {
    const result = normalizeRequestPath(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(PATH_NOT_NORMALIZABLE);
      expect(result.reason).toMatch(reason);
    }
  });
});
