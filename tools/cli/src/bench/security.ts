// Suite 3 (#7.3): the whole workflow with mesh + encryption + policy against the same workflow with
// all three off, on the same master, runs alternated.
import type { Runs } from './masters';

export interface SecurityResult {
  clipSeconds: number;
  chunks: number;
  /** Wall seconds of each run, in run order per group. */
  secureSeconds: number[];
  openSeconds: number[];
  kmsCallsPerChunk: number;
}

export async function runSecuritySuite(runs: Runs, opts: { runs: number; seconds: number; log: (line: string) => void }): Promise<SecurityResult> {
  const result: SecurityResult = { clipSeconds: opts.seconds, chunks: 0, secureSeconds: [], openSeconds: [], kmsCallsPerChunk: 0 };
  for (let i = 0; i < opts.runs; i++) {
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const secure of order) {
      const run = await runs.run(opts.seconds, secure);
      (secure ? result.secureSeconds : result.openSeconds).push(run.wallSeconds);
      result.chunks = run.chunks;
      if (secure) result.kmsCallsPerChunk = run.kmsCallsPerChunk;
      opts.log(`security: ${secure ? 'on ' : 'off'} run ${i + 1}/${opts.runs}: ${run.wallSeconds.toFixed(1)} s`);
    }
  }
  return result;
}
