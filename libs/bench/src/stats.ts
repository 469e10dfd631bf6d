// Statistics for the benchmark report. The distributions (t, F) come from @stdlib; quantiles,
// means and resampling from simple-statistics: nothing here re-derives a distribution.
import anova1 from '@stdlib/stats-anova1';
import ttest2 from '@stdlib/stats-ttest2';
import { mean, quantileSorted, sampleStandardDeviation, sampleWithReplacement } from 'simple-statistics';

export interface Summary {
  n: number;
  mean: number;
  sd: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface WelchResult {
  t: number;
  df: number;
  p: number;
  meanA: number;
  meanB: number;
  /** (meanA - meanB) / meanB * 100: how much slower A is than B. */
  differencePct: number;
}

export interface AnovaResult {
  F: number;
  p: number;
  dfTreatment: number;
  dfError: number;
  /** Partial eta squared: SS_treatment / (SS_treatment + SS_error) (= eta squared in a one-way design). */
  etaSq: number;
}

export interface RatioCi {
  ratio: number;
  ciLow: number;
  ciHigh: number;
  level: number;
  resamples: number;
}

function requireSamples(values: readonly number[], min: number, what: string): void {
  if (values.length < min) throw new RangeError(`${what} needs at least ${min} observations, got ${values.length}`);
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError(`${what}: every observation must be a finite number`);
}

export function summarize(values: readonly number[]): Summary {
  requireSamples(values, 1, 'summarize');
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    mean: mean(sorted),
    sd: sorted.length > 1 ? sampleStandardDeviation(sorted) : 0,
    min: sorted[0],
    p50: quantileSorted(sorted, 0.5),
    p95: quantileSorted(sorted, 0.95),
    p99: quantileSorted(sorted, 0.99),
    max: sorted[sorted.length - 1],
  };
}

/** Welch's two-sample t-test (unequal variances), two-sided. */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  requireSamples(a, 2, 'welchTTest (group A)');
  requireSamples(b, 2, 'welchTTest (group B)');
  const out = ttest2([...a], [...b], { variance: 'unequal' });
  const meanA = mean([...a]);
  const meanB = mean([...b]);
  return { t: out.statistic, df: out.df, p: out.pValue, meanA, meanB, differencePct: ((meanA - meanB) / meanB) * 100 };
}

/** One-way ANOVA across named groups: F, p and partial eta squared. */
export function oneWayAnova(groups: Record<string, readonly number[]>): AnovaResult {
  const names = Object.keys(groups);
  if (names.length < 2) throw new RangeError(`oneWayAnova needs at least 2 groups, got ${names.length}`);
  const x: number[] = [];
  const factor: string[] = [];
  for (const name of names) {
    requireSamples(groups[name], 2, `oneWayAnova (group ${name})`);
    for (const v of groups[name]) {
      x.push(v);
      factor.push(name);
    }
  }
  const out = anova1(x, factor);
  const ssT = out.treatment.ss;
  const ssE = out.error.ss;
  return { F: out.statistic, p: out.pValue, dfTreatment: out.treatment.df, dfError: out.error.df, etaSq: ssT / (ssT + ssE) };
}

/** A seeded generator (mulberry32) so a report's bootstrap interval is reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * mean(a) / mean(b) with a percentile-bootstrap confidence interval: each resample draws both
 * groups with replacement (independent samples, as alternated runs are).
 */
export function ratioOfMeansCi(a: readonly number[], b: readonly number[], options: { level?: number; resamples?: number; seed?: number } = {}): RatioCi {
  requireSamples(a, 1, 'ratioOfMeansCi (numerator)');
  requireSamples(b, 1, 'ratioOfMeansCi (denominator)');
  const level = options.level ?? 0.95;
  const resamples = options.resamples ?? 10_000;
  const random = seededRandom(options.seed ?? 7);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) {
    ratios.push(mean(sampleWithReplacement([...a], a.length, random)) / mean(sampleWithReplacement([...b], b.length, random)));
  }
  ratios.sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  return { ratio: mean([...a]) / mean([...b]), ciLow: quantileSorted(ratios, tail), ciHigh: quantileSorted(ratios, 1 - tail), level, resamples };
}
