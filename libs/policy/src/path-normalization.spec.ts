// Path normalisation against real OPA's decisions (conformance/opa-1.9.0-decisions.json): the mesh
// normalises every request path (Istio DECODE_AND_MERGE_SLASHES, normalizeRequestPath) before the
// policy sees it. For every recorded request with a string path: where real OPA judged the normalised
// request too (a record with the same input and that path), the engine's answer on it is OPA's; every
// allowed normalised request is a canonical handoff that OPA allowed or, for the decision vectors
// whose canonical form was not recorded, one the engine allows as sent. Normalisation only ever turns
// a request into its canonical request. A path that cannot be normalised is refused (400) first.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { handoffPath, normalizeRequestPath, parseHandoffPath } from '@reelmesh/addressing';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate';
import { loadPolicyData, REPO_ROOT } from './files';
import { parsePathAndQuery } from './input';
import type { Decision } from './types';

interface OpaRecord {
  readonly name: string;
  readonly input?: unknown;
  readonly opa: Decision;
}
type Input = { attributes: { request: { http: { path: unknown } } }; parsed_path?: unknown; parsed_query?: unknown };

const CONFORMANCE_DIR = join(REPO_ROOT, 'libs/policy/src/conformance');
const records = (JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'opa-1.9.0-decisions.json'), 'utf8')) as { records: OpaRecord[] }).records;
const data = loadPolicyData(join(CONFORMANCE_DIR, 'data.json'));

const pathOf = (input: unknown): unknown => (input as Input | null)?.attributes?.request?.http?.path;
/** The records whose request carried a path (a string): the ones the proxy normalises. */
const withPath = records.filter((r) => typeof pathOf(r.input) === 'string');

/** The input with another path, and the parsed forms opa-envoy-plugin derives from it. */
function withPathReplaced(input: unknown, path: string): Input {
  const copy = structuredClone(input) as Input;
  copy.attributes.request.http.path = path;
  delete copy.parsed_path;
  delete copy.parsed_query;
  const parsed = parsePathAndQuery(path);
  if (parsed) Object.assign(copy, { parsed_path: parsed.path, parsed_query: parsed.query });
  return copy;
}
/** Identity of a request apart from its parsed forms: the key to find the record OPA judged. */
const keyOf = (input: unknown) => {
  const { parsed_path: _p, parsed_query: _q, ...rest } = input as Input;
  return JSON.stringify(rest);
};
const judged = new Map(withPath.map((r) => [keyOf(r.input), r]));

describe('path normalisation against real OPA 1.9.0 decisions', () => {
  const outcomes = withPath.map((record) => {
    const raw = pathOf(record.input) as string;
    const normalised = normalizeRequestPath(raw);
    if (!normalised.ok) return { record, raw, refused: true as const };
    const input = withPathReplaced(record.input, normalised.target);
    return { record, raw, refused: false as const, target: normalised.target, canonical: judged.get(keyOf(input)), engine: evaluate(input, data) };
  });

  it('covers the adversarial paths of the recording', () => {
    expect(withPath.length).toBeGreaterThan(500);
    // Some paths change (the '..', '//', %2F, %30 variants) and some are refused (%00, NUL, space, '#').
    expect(outcomes.filter((o) => !o.refused && o.target !== o.raw).length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.refused).length).toBeGreaterThan(0);
  });

  it('where OPA judged the normalised request, the engine gives OPA’s answer on it', () => {
    const problems: string[] = [];
    for (const o of outcomes) {
      if (o.refused) continue;
      // The adversarial families are built around requests OPA also saw in canonical form; only some
      // decision vectors have no recorded canonical twin (their answer is checked below).
      if (!o.canonical && !o.record.name.startsWith('vector: '))
        problems.push(`${o.record.name}: ${JSON.stringify(o.raw)} -> ${JSON.stringify(o.target)}, a request OPA never judged`);
      else if (o.canonical && (o.engine.allowed !== o.canonical.opa.allowed || o.engine.reason !== o.canonical.opa.reason))
        problems.push(`${o.record.name}: engine ${JSON.stringify(o.engine)} on ${o.target}, OPA ${JSON.stringify(o.canonical.opa)}`);
    }
    expect(problems).toEqual([]);
    expect(outcomes.filter((o) => !o.refused && o.canonical).length).toBeGreaterThan(withPath.length / 2);
  });

  it('only a canonical handoff path is ever allowed after normalisation; refused paths were never allowed', () => {
    for (const o of outcomes) {
      const what = `${o.record.name} ${JSON.stringify(o.raw)}`;
      if (o.refused) {
        expect(o.record.opa.allowed, what).toBe(false);
        continue;
      }
      if (!o.engine.allowed) continue;
      // The canonical request: a fixed point of normalisation and the one spelling of a handoff address.
      expect(normalizeRequestPath(o.target), what).toMatchObject({ ok: true, target: o.target });
      const address = parseHandoffPath(o.target);
      expect(address && handoffPath(address), what).toBe(o.target);
      // And where OPA judged that canonical request, it allowed it as sent.
      if (o.canonical) expect(o.canonical.opa.allowed, what).toBe(true);
    }
  });

  it('the variants the cluster normalises are judged as their canonical request locally too', () => {
    // Raw-denied, normalised-allowed: exactly the requests Istio would have allowed before this change
    // while the local mesh denied them (defect 11). Each is now the canonical allowed handoff on both.
    const changed = outcomes.filter((o) => !o.refused && !o.record.opa.allowed && o.engine!.allowed);
    expect(changed.length).toBeGreaterThan(0);
    for (const o of changed) expect(o.target).not.toBe(o.raw);
    const shapes = new Set(changed.filter((o) => !o.record.name.startsWith('vector: ')).map((o) => o.record.name.split(' ')[0]));
    // '//' leading and inner, '..', %2F in two places, %2F between workflow and step, and chunk "%30".
    expect([...shapes].sort()).toEqual(['chunk', 'path#1', 'path#10', 'path#15', 'path#2', 'path#4', 'path#9'].sort());
  });
});
