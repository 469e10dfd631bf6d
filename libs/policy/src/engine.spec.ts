import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHUNK_INDEX_PATTERN } from '@reelmesh/addressing';
import { loadWorkflow } from '@reelmesh/workflow';
import { CompiledPolicy, PolicyDataError, compilePolicy } from './compile';
import { evaluate, HANDOFF_METHOD } from './evaluate';
import { loadDecisionVectors, loadPolicyData, REPO_ROOT } from './files';
import { generatePolicyData } from './generate';
import { DECISION_REASONS, type PolicyData } from './types';

const data = loadPolicyData();
const vectors = loadDecisionVectors();

describe('engine against the shared decision vectors', () => {
  it('has vectors for every reason the policy can give', () => {
    expect(new Set(vectors.map((v) => v.expected.reason))).toEqual(new Set(DECISION_REASONS));
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    expect(evaluate(vector.input, data)).toEqual(vector.expected);
  });
});

describe('cost does not grow with the number of rules', () => {
  const big = generatePolicyData(loadWorkflow(), { extraRules: 10_000 });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gives identical decisions with 10,000 extra rules', () => {
    expect(compilePolicy(big).ruleCount).toBe(compilePolicy(data).ruleCount + 10_000);
    for (const vector of vectors) expect(evaluate(vector.input, big), vector.name).toEqual(vector.expected);
  });

  it('does the same number of index lookups per decision with 10,000 extra rules', () => {
    const small = compilePolicy(data);
    const large = compilePolicy(big);
    const lookups = (policy: CompiledPolicy) =>
      vectors.map((vector) => {
        const gets = vi.spyOn(Map.prototype, 'get');
        const has = vi.spyOn(Set.prototype, 'has');
        evaluate(vector.input, policy);
        const count = gets.mock.calls.length + has.mock.calls.length;
        vi.restoreAllMocks();
        return count;
      });
    const perVector = lookups(small);
    expect(Math.max(...perVector)).toBeGreaterThan(0);
    expect(lookups(large)).toEqual(perVector);
    // And it is a handful of lookups, not a walk over the rules.
    expect(Math.max(...perVector)).toBeLessThanOrEqual(6);
  });

  it('extra rules hang off the real destinations, so the indexed maps really grow', () => {
    const small = compilePolicy(data);
    const large = compilePolicy(big);
    for (const [destination, sources] of small.edges) {
      expect(large.edges.get(destination)!.size).toBeGreaterThan(sources.size + 1000);
    }
  });
});

describe('compilePolicy', () => {
  const bad: Array<[string, unknown]> = [
    ['not an object', []],
    ['no workflow', { principals: {}, edges: {} }],
    ['empty workflow id', { workflow: { id: '' }, principals: {}, edges: {} }],
    ['principal not mapped to a name', { workflow: { id: 'w' }, principals: { p: true }, edges: {} }],
    ['edges not an object', { workflow: { id: 'w' }, principals: {}, edges: [] }],
    ['artifact flag not true', { workflow: { id: 'w' }, principals: {}, edges: { d: { s: { step: { a: false } } } } }],
    ['step list instead of map', { workflow: { id: 'w' }, principals: {}, edges: { d: { s: ['step'] } } }],
  ];
  it.each(bad)('rejects a document with %s', (_what, doc) => {
    expect(() => compilePolicy(doc)).toThrow(PolicyDataError);
  });

  it('compiles each document once', () => {
    const doc = structuredClone(data) as PolicyData;
    expect(compilePolicy(doc)).toBe(compilePolicy(doc));
  });

  it('treats "__proto__" and friends as ordinary keys', () => {
    const doc = structuredClone(data) as PolicyData;
    const evil = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
    const policy = compilePolicy({ ...doc, principals: { ...doc.principals, ...evil } });
    expect(policy.principals.has('__proto__')).toBe(true);
    expect(compilePolicy(data).principals.has('__proto__')).toBe(false);
  });
});

describe('the Rego and the engine speak the same language', () => {
  const rego = readFileSync(join(REPO_ROOT, 'policies/reelmesh/authz/authz.rego'), 'utf8');

  it('the Rego gives the same reasons, in the same order', () => {
    const chain = rego.slice(rego.indexOf('reason := '), rego.indexOf('_source := '));
    const reasons = [...chain.matchAll(/(?:reason|else) := "([a-z_]+)"/g)].map((m) => m[1]);
    expect(reasons).toEqual([...DECISION_REASONS]);
  });

  it('the Rego uses the same chunk index pattern and method', () => {
    // The chunk rule has one home, @reelmesh/addressing: the Rego must spell the same pattern.
    expect(rego).toContain(`regex.match(\`${CHUNK_INDEX_PATTERN}\`, chunk)`);
    expect(rego).toContain(`input.attributes.request.http.method == "${HANDOFF_METHOD}"`);
  });

  it('the Rego is formatted the way opa fmt writes it (tab indents, OPA 1.x keywords)', () => {
    for (const file of ['authz.rego', 'authz_test.rego']) {
      const text = readFileSync(join(REPO_ROOT, 'policies/reelmesh/authz', file), 'utf8');
      for (const line of text.split('\n')) expect(line, `${file}: ${line}`).not.toMatch(/^ +\S|\s+$/);
      expect(text).not.toMatch(/import future\.keywords|import rego\.v1/);
      expect(text.endsWith('\n')).toBe(true);
    }
  });

  it('the Rego tests load the vectors and iterate them with every', () => {
    const tests = readFileSync(join(REPO_ROOT, 'policies/reelmesh/authz/authz_test.rego'), 'utf8');
    expect(tests).toMatch(/every vector in data\.vectors/);
    expect(tests).toMatch(/^package reelmesh\.authz_test$/m);
    expect(rego).toMatch(/^package reelmesh\.authz$/m);
    expect(rego).toMatch(/^default allow := false$/m);
  });
});
