// Suite: crash survival (issue #15). The same secure run of the same master twice — undisturbed,
// then with a random process of the mesh killed -9 every few seconds (every kind at least once) —
// and what the second cost: kills survived, step chunks re-processed or re-sent, extra wall time.
import { join } from 'node:path';
import type { ChaosReport } from '../chaos';
import { runWorkflow } from '../run-workflow';
import type { Runs } from './masters';

export interface ChaosSuiteResult {
  clipSeconds: number;
  chunks: number;
  everySeconds: number;
  undisturbedSeconds: number;
  chaosSeconds: number;
  chaos: ChaosReport;
  /** Restarts the runtime made, by process (a kill, and any process that failed while another was down). */
  restarts: Record<string, number>;
  /** Step chunks run again after a restart, outputs re-sent from a volume, chunks found already done. */
  reprocessed: number;
  resent: number;
  foundDone: number;
  redispatched: number;
}

export async function runChaosSuite(runs: Runs, opts: { seconds: number; everySeconds: number; workDir: string; log: (line: string) => void }): Promise<ChaosSuiteResult> {
  const undisturbed = await runs.secureRun(opts.seconds);
  opts.log(`chaos: undisturbed secure run of ${opts.seconds} s: ${undisturbed.wallSeconds.toFixed(1)} s`);
  const input = await runs.master(opts.seconds);
  const run = await runWorkflow({
    input,
    durationSeconds: opts.seconds,
    outDir: join(opts.workDir, `out-${opts.seconds}s-chaos`),
    clean: true,
    chaos: { everyMs: opts.everySeconds * 1000, seed: 15, onKill: (k) => opts.log(`chaos: ${k.at.toFixed(1)} s kill -9 ${k.name}`) },
  });
  const chaos = run.chaos!;
  opts.log(`chaos: ${chaos.kills.length} kills survived; ${run.wallSeconds.toFixed(1)} s (undisturbed ${undisturbed.wallSeconds.toFixed(1)} s)`);
  return {
    clipSeconds: opts.seconds,
    chunks: run.chunks,
    everySeconds: opts.everySeconds,
    undisturbedSeconds: undisturbed.wallSeconds,
    chaosSeconds: run.wallSeconds,
    chaos,
    restarts: run.restarts,
    reprocessed: run.resumed.rescheduled,
    resent: run.resumed.resent,
    foundDone: run.resumed.done,
    redispatched: run.resumed.redispatched,
  };
}
