// Engine micro-benchmark for `reelmesh bench`: decision cost by policy size. Not a test: it
// measures; the structural "cost does not grow" claim is checked in engine.spec.ts.
import { loadWorkflow, type Workflow } from '@reelmesh/workflow';
import { compilePolicy } from './compile';
import { evaluate } from './evaluate';
import { generateDecisionVectors, generatePolicyData } from './generate';

export interface BenchPolicyOptions {
  /** Extra non-matching rules on top of the workflow's own (0, 100, 1000, 10000 ...). */
  extraRules?: number;
  /** Passes over every decision vector. */
  iterations?: number;
  workflow?: Workflow;
}

export interface BenchPolicyResult {
  extraRules: number;
  rules: number;
  vectors: number;
  iterations: number;
  decisions: number;
  compileMs: number;
  /** Per-decision time of each pass (ns), for the caller's statistics (t-test, ANOVA). */
  samplesNs: number[];
  meanNs: number;
  p50Ns: number;
  p99Ns: number;
}

export function benchPolicy(options: BenchPolicyOptions = {}): BenchPolicyResult {
  const { extraRules = 0, iterations = 1000 } = options;
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  const wf = options.workflow ?? loadWorkflow();
  const data = generatePolicyData(wf, { extraRules });
  const vectors = generateDecisionVectors(wf);

  const compileStart = process.hrtime.bigint();
  const policy = compilePolicy(data);
  const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;

  // A benchmark of a wrong engine is worthless: check every answer once before timing.
  for (const vector of vectors) {
    const got = evaluate(vector.input, policy);
    if (got.allowed !== vector.expected.allowed || got.reason !== vector.expected.reason) {
      throw new Error(`engine disagrees with vector "${vector.name}": ${JSON.stringify(got)}`);
    }
  }

  const samplesNs: number[] = [];
  let sink = 0;
  for (let pass = 0; pass < iterations; pass += 1) {
    const start = process.hrtime.bigint();
    for (const vector of vectors) if (evaluate(vector.input, policy).allowed) sink += 1;
    samplesNs.push(Number(process.hrtime.bigint() - start) / vectors.length);
  }
  if (sink < 0) throw new Error('unreachable'); // keeps the loop from being optimised away

  const sorted = [...samplesNs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    extraRules,
    rules: policy.ruleCount,
    vectors: vectors.length,
    iterations,
    decisions: vectors.length * iterations,
    compileMs,
    samplesNs,
    meanNs: samplesNs.reduce((sum, x) => sum + x, 0) / samplesNs.length,
    p50Ns: at(0.5),
    p99Ns: at(0.99),
  };
}
