import { mkdtempSync, readFileSync, rmSync, mkdirSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accessMatrix, loadWorkflow, spiffeId } from '@reelmesh/workflow';
import { compilePolicy } from './compile';
import { evaluate } from './evaluate';
import { REPO_ROOT, renderGeneratedPolicyFiles, writeGeneratedPolicyFiles } from './files';
import { GENERATED_MARKER, generateDecisionVectors, generatePolicyData } from './generate';
import type { PolicyInput } from './types';

const wf = loadWorkflow();

describe('committed policy files', () => {
  it.each(renderGeneratedPolicyFiles(wf).map((file) => [file.path, file] as const))(
    '%s is fresh (regenerating gives identical bytes; run `reelmesh gen`)',
    (_path, file) => {
      expect(readFileSync(join(REPO_ROOT, file.path), 'utf8')).toBe(file.content);
    },
  );

  it('data.json says it is generated, in a field OPA loads harmlessly', () => {
    const data = JSON.parse(readFileSync(join(REPO_ROOT, 'policies/reelmesh/data.json'), 'utf8'));
    expect(data._generated).toBe(GENERATED_MARKER);
  });
});

describe('writeGeneratedPolicyFiles', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes the files from <root>/policies/workflow.yaml and leaves no temp files', () => {
    dir = mkdtempSync(join(tmpdir(), 'reelmesh-policy-gen-'));
    mkdirSync(join(dir, 'policies'));
    copyFileSync(join(REPO_ROOT, 'policies/workflow.yaml'), join(dir, 'policies/workflow.yaml'));
    const written = writeGeneratedPolicyFiles(dir);
    expect(written).toEqual(['policies/reelmesh/data.json', 'policies/vectors/decisions.json', 'policies/vectors/README.md']);
    for (const path of written) expect(readFileSync(join(dir, path), 'utf8')).toBe(readFileSync(join(REPO_ROOT, path), 'utf8'));
    expect(readdirSync(join(dir, 'policies/vectors')).sort()).toEqual(['README.md', 'decisions.json']);
    expect(readdirSync(join(dir, 'policies/reelmesh'))).toEqual(['data.json']);
  });
});

describe('generatePolicyData', () => {
  const matrix = accessMatrix(wf);

  it('has exactly the access matrix as edges and every agent as a principal', () => {
    const data = generatePolicyData(wf);
    const rules = Object.entries(data.edges).flatMap(([destination, sources]) =>
      Object.entries(sources).flatMap(([source, steps]) =>
        Object.entries(steps).flatMap(([step, artifacts]) => Object.keys(artifacts).map((artifact) => `${source} ${destination} ${step} ${artifact}`)),
      ),
    );
    expect(rules.sort()).toEqual(matrix.map((r) => `${r.sourcePrincipal} ${r.destinationPrincipal} ${r.step} ${r.artifact}`).sort());
    expect(Object.keys(data.principals).sort()).toEqual(wf.agents.map((agent) => spiffeId(wf, agent.name)).sort());
    expect(data.workflow).toEqual({ id: wf.metadata.id, trustDomain: wf.metadata.trustDomain });
  });

  it.each([100, 1000])('adds %i distinct extra rules that match no real caller', (extraRules) => {
    const data = generatePolicyData(wf, { extraRules });
    const policy = compilePolicy(data);
    expect(policy.ruleCount).toBe(matrix.length + extraRules);
    expect(policy.principals.size).toBe(wf.agents.length + extraRules);
    // Each extra rule is real: a request built from it is allowed by the bigger policy...
    const source = `spiffe://${wf.metadata.trustDomain}/ns/bench/sa/bench-${extraRules - 1}`;
    const [destination, sources] = [...policy.edges].find(([, bySource]) => bySource.has(source))!;
    const step = [...sources.get(source)!.keys()][0];
    const input: PolicyInput = {
      attributes: {
        source: { principal: source },
        destination: { principal: destination },
        request: { http: { method: 'POST', path: `/v1/handoffs/${wf.metadata.id}/${step}/bench/0` } },
      },
    };
    expect(evaluate(input, data)).toEqual({ allowed: true, reason: 'allowed' });
    // ...and unknown to the minimal one.
    expect(evaluate(input, generatePolicyData(wf)).reason).toBe('source_unknown');
  });

  it('rejects a negative or fractional rule count', () => {
    expect(() => generatePolicyData(wf, { extraRules: -1 })).toThrow(RangeError);
    expect(() => generatePolicyData(wf, { extraRules: 1.5 })).toThrow(RangeError);
  });
});

describe('generateDecisionVectors', () => {
  const vectors = generateDecisionVectors(wf);
  const matrix = accessMatrix(wf);
  const summary = (input: unknown) => {
    const i = input as PolicyInput;
    return `${i.attributes.source.principal} ${i.attributes.destination.principal} ${i.attributes.request.http.method} ${i.attributes.request.http.path}`;
  };

  it('allows every edge of the access matrix', () => {
    const allowed = vectors.filter((v) => v.expected.allowed).map((v) => summary(v.input));
    for (const rule of matrix) {
      expect(allowed).toContain(`${rule.sourcePrincipal} ${rule.destinationPrincipal} POST ${rule.pathPattern.replace('{chunk}', '7')}`);
    }
  });

  it('denies every other ordered pair of agents', () => {
    const edges = new Set(matrix.map((r) => `${r.sourcePrincipal} ${r.destinationPrincipal}`));
    const denied = new Set(
      vectors.filter((v) => v.expected.reason === 'edge_forbidden').map((v) => {
        const i = v.input as PolicyInput;
        return `${i.attributes.source.principal} ${i.attributes.destination.principal}`;
      }),
    );
    for (const source of wf.agents) {
      for (const destination of wf.agents) {
        const pair = `${spiffeId(wf, source.name)} ${spiffeId(wf, destination.name)}`;
        if (!edges.has(pair)) expect(denied, pair).toContain(pair);
      }
    }
  });

  it('tries GET, PUT and DELETE on every edge', () => {
    for (const rule of matrix) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        expect(vectors.some((v) => v.expected.reason === 'method_not_allowed' && summary(v.input).startsWith(`${rule.sourcePrincipal} ${rule.destinationPrincipal} ${method} `))).toBe(true);
      }
    }
  });

  it('includes a vector with no input at all, and unique names', () => {
    expect(vectors.find((v) => v.name === 'input missing')).toEqual({ name: 'input missing', expected: { allowed: false, reason: 'source_principal_missing' } });
    expect(new Set(vectors.map((v) => v.name)).size).toBe(vectors.length);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(generateDecisionVectors(wf))).toBe(JSON.stringify(vectors));
  });
});
