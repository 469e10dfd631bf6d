// Suite: the cost of signed provenance (issue #8). Per chunk: signing every record of a chunk and
// verifying its full chain (crypto alone). Whole workflow: the same secure run with and without
// provenance, alternated, as a ratio of wall times; and, inside each secure run, the CPU time
// every agent spent on provenance set against the run's wall time (resolves far below 1 %).
import { benchProvenance, type ProvenanceBenchResult } from '@reelmesh/provenance';
import { loadWorkflow } from '@reelmesh/workflow';
import type { Runs } from './masters';

export interface ProvenanceSuiteResult {
  clipSeconds: number;
  chunks: number;
  micro: ProvenanceBenchResult;
  /** Wall seconds of each run, in run order per group. */
  withSeconds: number[];
  withoutSeconds: number[];
  /** Per secure run: provenance CPU ms summed over agents, and that over the run's wall time. */
  inRun: Array<{ provenanceMs: number; recordsSigned: number; chainsVerified: number; shareOfWall: number }>;
  /** Records signed in the baseline runs: 0, or the baseline was not one. */
  baselineRecordsSigned: number;
}

export async function runProvenanceSuite(
  runs: Runs,
  opts: { runs: number; seconds: number; microChunks: number; log: (line: string) => void },
): Promise<ProvenanceSuiteResult> {
  const micro = await benchProvenance({ workflow: loadWorkflow(), chunks: opts.microChunks });
  opts.log(`provenance: ${micro.totalMsPerChunk.toFixed(2)} ms of crypto per chunk (${micro.recordsPerChunk} records)`);
  const result: ProvenanceSuiteResult = { clipSeconds: opts.seconds, chunks: 0, micro, withSeconds: [], withoutSeconds: [], inRun: [], baselineRecordsSigned: 0 };
  for (let i = 0; i < opts.runs; i++) {
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const provenance of order) {
      const run = await runs.run(opts.seconds, true, { provenance });
      result.chunks = run.chunks;
      (provenance ? result.withSeconds : result.withoutSeconds).push(run.wallSeconds);
      if (!provenance) result.baselineRecordsSigned += run.provenance.recordsSigned;
      if (provenance) {
        const p = run.provenance;
        result.inRun.push({ provenanceMs: p.signMs + p.verifyMs, recordsSigned: p.recordsSigned, chainsVerified: p.chainsVerified, shareOfWall: p.shareOfWall });
      }
      opts.log(`provenance: ${provenance ? 'on ' : 'off'} run ${i + 1}/${opts.runs}: ${run.wallSeconds.toFixed(1)} s`);
    }
  }
  return result;
}
