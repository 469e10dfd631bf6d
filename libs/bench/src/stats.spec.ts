import { describe, expect, it } from 'vitest';
import { oneWayAnova, ratioOfMeansCi, seededRandom, summarize, welchTTest } from './stats';

describe('summarize', () => {
  it('gives n, mean, sd and the quantiles of the observations', () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i)); // 1..100, unsorted
    expect(s).toMatchObject({ n: 100, mean: 50.5, min: 1, max: 100, p50: 50.5 });
    // linear interpolation between order statistics (R type 7): 1 + q * (n - 1)
    expect(s.p95).toBeCloseTo(95.05, 9);
    expect(s.p99).toBeCloseTo(99.01, 9);
    expect(s.sd).toBeCloseTo(29.0115, 3);
  });

  it('rejects no observations and non-finite ones', () => {
    expect(() => summarize([])).toThrow(/at least 1/);
    expect(() => summarize([1, Number.NaN])).toThrow(/finite/);
  });
});

describe('welchTTest', () => {
  it('matches the textbook Welch statistic and degrees of freedom', () => {
    // means 3 vs 6, variances 2.5 vs 10, n 5 each: t = -3 / sqrt(2.5), df = 6.25 / 1.0625
    const r = welchTTest([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]);
    expect(r.t).toBeCloseTo(-3 / Math.sqrt(2.5), 6);
    expect(r.df).toBeCloseTo(6.25 / 1.0625, 6);
    expect(r.p).toBeGreaterThan(0.1);
    expect(r.p).toBeLessThan(0.115);
    expect(r.differencePct).toBeCloseTo(-50, 9);
  });

  it('finds a real difference significant and none where there is none', () => {
    const random = seededRandom(1);
    const a = Array.from({ length: 200 }, () => 10 + random());
    const b = Array.from({ length: 200 }, () => 11 + random());
    expect(welchTTest(a, b).p).toBeLessThan(1e-6);
    expect(welchTTest(a, [...a].reverse()).p).toBeCloseTo(1, 9);
  });

  it('needs two observations per group', () => {
    expect(() => welchTTest([1], [1, 2])).toThrow(/at least 2/);
  });
});

describe('oneWayAnova', () => {
  it('gives F, p and partial eta squared of a known design', () => {
    // SS between 54 (df 2), SS within 6 (df 6): F = 27, p = (1 + 2F/6)^-3 = 1/1000, eta^2 = 0.9
    const r = oneWayAnova({ a: [1, 2, 3], b: [4, 5, 6], c: [7, 8, 9] });
    expect(r.F).toBeCloseTo(27, 9);
    expect(r.dfTreatment).toBe(2);
    expect(r.dfError).toBe(6);
    expect(r.p).toBeCloseTo(0.001, 6);
    expect(r.etaSq).toBeCloseTo(0.9, 9);
  });

  it('needs two groups', () => {
    expect(() => oneWayAnova({ only: [1, 2, 3] })).toThrow(/2 groups/);
  });
});

describe('ratioOfMeansCi', () => {
  it('brackets the ratio of means and is reproducible for a seed', () => {
    const random = seededRandom(3);
    const a = Array.from({ length: 30 }, () => 110 + 10 * random());
    const b = Array.from({ length: 30 }, () => 100 + 10 * random());
    const ci = ratioOfMeansCi(a, b, { resamples: 2000 });
    expect(ci.ratio).toBeGreaterThan(ci.ciLow);
    expect(ci.ratio).toBeLessThan(ci.ciHigh);
    expect(ci.ciLow).toBeGreaterThan(1); // a is clearly slower
    expect(ci.ciHigh - ci.ciLow).toBeLessThan(0.05);
    expect(ratioOfMeansCi(a, b, { resamples: 2000 })).toEqual(ci);
  });

  it('collapses to the ratio when every observation is equal', () => {
    expect(ratioOfMeansCi([2, 2], [1, 1], { resamples: 100 })).toMatchObject({ ratio: 2, ciLow: 2, ciHigh: 2 });
  });
});
