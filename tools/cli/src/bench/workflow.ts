// Suite 4 (#2): end-to-end wall time of the sample with every security layer on, per-agent step
// times, the pipelining ratio, and each agent's peak RSS for a short and a long master.
import { availableParallelism } from 'node:os';
import { ffmpegPath, ffmpegVersion } from '@reelmesh/media';
import type { Runs } from './masters';
import { timeStepsAlone } from './steps-alone';

export interface WorkflowResult {
  ffmpeg: { path: string; version: string; fromEnv: boolean };
  clipSeconds: number;
  chunks: number;
  wallSeconds: number;
  /** agent -> wall seconds from its first job start to its last job end. */
  steps: Record<string, number>;
  /** step -> seconds, each job run alone over the same chunks. */
  stepsAlone: Record<string, number>;
  /** step -> CPU seconds of its job alone over the same chunks (ffmpeg processes + piping); absent without /proc. */
  stepsAloneCpu?: Record<string, number>;
  /** The workflow's steps whose job the in-process run does not perform (a contractor's own job): not in the sum. */
  stepsNotTimedAlone: string[];
  sumStepsAloneSeconds: number;
  /** wallSeconds / sumStepsAloneSeconds: below 1 when chunks really flow as a pipeline. */
  pipelineRatio: number;
  kmsCallsPerChunk: number;
  rss: { shortSeconds: number; longSeconds: number; shortBytes: Record<string, number>; longBytes: Record<string, number>; ratio: Record<string, number>; maxRatio: number };
}

export async function runWorkflowSuite(
  runs: Runs,
  opts: { seconds: number; rssShortSeconds: number; rssLongSeconds: number; workDir: string; log: (line: string) => void },
): Promise<WorkflowResult> {
  const main = await runs.secureRun(opts.seconds);
  opts.log(`workflow: ${opts.seconds} s sample in ${main.wallSeconds.toFixed(1)} s`);
  const { seconds: stepsAlone, untimed, cpuSeconds } = await timeStepsAlone(await runs.master(opts.seconds), opts.workDir);
  const sum = Object.values(stepsAlone).reduce((a, b) => a + b, 0);
  opts.log(`workflow: steps alone sum to ${sum.toFixed(1)} s${untimed.length > 0 ? ` (not timed alone, their jobs are not in the in-process run: ${untimed.join(', ')})` : ''}`);
  if (cpuSeconds) {
    // Where the time goes: what each job costs the machine, against its wall time alone.
    const cpuSum = Object.values(cpuSeconds).reduce((a, b) => a + b, 0);
    const each = Object.entries(cpuSeconds).map(([step, cpu]) => `${step} ${cpu.toFixed(1)}/${stepsAlone[step].toFixed(1)}`);
    opts.log(`workflow: steps alone, CPU/wall s: ${each.join(', ')}; CPU ${cpuSum.toFixed(1)} s in all (>= ${(cpuSum / availableParallelism()).toFixed(1)} s of wall on ${availableParallelism()} cores)`);
  }
  const short = await runs.secureRun(opts.rssShortSeconds);
  const long = await runs.secureRun(opts.rssLongSeconds);
  opts.log(`workflow: ${opts.rssLongSeconds} s master in ${long.wallSeconds.toFixed(1)} s`);
  const ratio = Object.fromEntries(Object.keys(short.maxRssBytes).map((a) => [a, long.maxRssBytes[a] / short.maxRssBytes[a]]));
  return {
    ffmpeg: { path: ffmpegPath(), version: (await ffmpegVersion()).raw, fromEnv: Boolean(process.env.FFMPEG_PATH) },
    clipSeconds: opts.seconds,
    chunks: main.chunks,
    wallSeconds: main.wallSeconds,
    steps: main.steps,
    stepsAlone,
    ...(cpuSeconds ? { stepsAloneCpu: cpuSeconds } : {}),
    stepsNotTimedAlone: untimed,
    sumStepsAloneSeconds: sum,
    pipelineRatio: main.wallSeconds / sum,
    kmsCallsPerChunk: main.kmsCallsPerChunk,
    rss: {
      shortSeconds: opts.rssShortSeconds,
      longSeconds: opts.rssLongSeconds,
      shortBytes: short.maxRssBytes,
      longBytes: long.maxRssBytes,
      ratio,
      maxRatio: Math.max(...Object.values(ratio)),
    },
  };
}
