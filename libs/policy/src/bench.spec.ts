import { describe, expect, it } from 'vitest';
import { accessMatrix, loadWorkflow, parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { benchPolicy } from './bench';

describe('benchPolicy', () => {
  it('reports the policy size it measured and one sample per pass', () => {
    // MINI's two edges (split -> demux, demux -> assemble) are its two rules.
    const result = benchPolicy({ workflow: parseWorkflow(MINI), extraRules: 100, iterations: 3 });
    expect(result).toMatchObject({ extraRules: 100, rules: 102, iterations: 3 });
    expect(result.decisions).toBe(result.vectors * 3);
    expect(result.samplesNs).toHaveLength(3);
    expect(result.p50Ns).toBeGreaterThan(0);
  });

  it('measures the repository workflow by default: one rule per access-matrix entry, plus the extra ones', () => {
    const result = benchPolicy({ extraRules: 100, iterations: 3 });
    expect(result).toMatchObject({ extraRules: 100, rules: accessMatrix(loadWorkflow()).length + 100, iterations: 3 });
    expect(result.decisions).toBe(result.vectors * 3);
  });

  it('refuses a non-positive iteration count', () => {
    expect(() => benchPolicy({ iterations: 0 })).toThrow(RangeError);
  });
});
