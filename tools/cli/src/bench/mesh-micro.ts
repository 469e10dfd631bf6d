// Suite 6 (#4): the mesh and policy micro-benchmarks of @reelmesh/mesh and @reelmesh/policy.
import { benchProxy, type BenchReport } from '@reelmesh/mesh';
import { benchPolicy } from '@reelmesh/policy';

export const POLICY_BENCH_SIZES = [0, 100, 1000, 10000];

export interface MeshMicroResult {
  proxy: BenchReport;
  /** Per-decision cost of the engine alone by extra rules. */
  policy: Array<{ extraRules: number; rules: number; decisions: number; p50Ns: number; p99Ns: number; meanNs: number; samplesNs: number[] }>;
}

export async function runMeshMicroSuite(opts: { requests: number; throughputBytes: number; policyIterations: number; log: (line: string) => void }): Promise<MeshMicroResult> {
  const proxy = await benchProxy({ requests: opts.requests, warmup: Math.ceil(opts.requests / 10), throughputBytes: opts.throughputBytes });
  const o = proxy.overhead;
  opts.log(
    `mesh: pair p99 +${o.pairP99Ms} ms (x${o.pairP99Ratio}), policy p50 +${o.policyP50Ms} ms (x${o.policyP50Ratio}) p99 +${o.policyP99Ms} ms (x${o.policyP99Ratio}), throughput pair/direct ${proxy.throughputRatio}`,
  );
  const policy = POLICY_BENCH_SIZES.map((extraRules) => {
    const r = benchPolicy({ extraRules, iterations: opts.policyIterations });
    return { extraRules, rules: r.rules, decisions: r.decisions, p50Ns: r.p50Ns, p99Ns: r.p99Ns, meanNs: r.meanNs, samplesNs: r.samplesNs };
  });
  return { proxy, policy };
}
