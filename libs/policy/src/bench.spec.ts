import { describe, expect, it } from 'vitest';
import { benchPolicy } from './bench';

describe('benchPolicy', () => {
  it('reports the policy size it measured and one sample per pass', () => {
    const result = benchPolicy({ extraRules: 100, iterations: 3 });
    expect(result).toMatchObject({ extraRules: 100, rules: 108, iterations: 3 });
    expect(result.decisions).toBe(result.vectors * 3);
    expect(result.samplesNs).toHaveLength(3);
    expect(result.p50Ns).toBeGreaterThan(0);
  });

  it('refuses a non-positive iteration count', () => {
    expect(() => benchPolicy({ iterations: 0 })).toThrow(RangeError);
  });
});
