// Suite: the cost of signed provenance (issue #8). Per chunk: signing every record of a chunk and
// verifying its full chain (crypto alone). Whole workflow: the same secure run with and without
// provenance, alternated, as a ratio of wall times; and, inside each secure run, the CPU time
// every agent spent on provenance set against the run's wall time (resolves far below 1 %).
import { stat } from 'node:fs/promises';
import { benchDeliverableAttestation, benchProvenance, type AttestationBenchResult, type ProvenanceBenchResult } from '@reelmesh/provenance';
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
  /** The deliverable's attestation, signed and verified on a synthetic file. */
  attestation: AttestationBenchResult;
  /** Per secure run: its deliverable's size, and sign+verify of it at the measured per-GiB cost over the run's wall time. */
  attestationInRun: Array<{ deliverableBytes: number; projectedMs: number; shareOfWall: number }>;
}

export async function runProvenanceSuite(
  runs: Runs,
  opts: { runs: number; seconds: number; microChunks: number; attestationBytes: number; log: (line: string) => void },
): Promise<ProvenanceSuiteResult> {
  const micro = await benchProvenance({ workflow: loadWorkflow(), chunks: opts.microChunks });
  opts.log(`provenance: ${micro.totalMsPerChunk.toFixed(2)} ms of crypto per chunk (${micro.recordsPerChunk} records)`);
  const attestation = await benchDeliverableAttestation({ workflow: loadWorkflow(), bytes: opts.attestationBytes });
  const perGiB = attestation.signMsPerGiB + attestation.verifyMsPerGiB;
  opts.log(`provenance: deliverable attestation ${perGiB.toFixed(0)} ms per GiB (sign ${attestation.signMsPerGiB.toFixed(0)}, verify ${attestation.verifyMsPerGiB.toFixed(0)})`);
  const result: ProvenanceSuiteResult = {
    clipSeconds: opts.seconds, chunks: 0, micro, withSeconds: [], withoutSeconds: [], inRun: [], baselineRecordsSigned: 0, attestation, attestationInRun: [],
  };
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
        const deliverableBytes = (await stat(run.deliverable)).size;
        const projectedMs = (perGiB * deliverableBytes) / 2 ** 30;
        result.attestationInRun.push({ deliverableBytes, projectedMs, shareOfWall: projectedMs / (run.wallSeconds * 1000) });
      }
      opts.log(`provenance: ${provenance ? 'on ' : 'off'} run ${i + 1}/${opts.runs}: ${run.wallSeconds.toFixed(1)} s`);
    }
  }
  return result;
}
