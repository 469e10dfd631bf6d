import { outputArgs } from './codec-args';
import { MediaError } from './errors';
import { runFfmpeg } from './run-ffmpeg';
import type { ProbeInput } from './run-ffprobe';

export interface LoudnessStats {
  integratedLufs: number;
  truePeakDbtp: number;
}

/** EBU R128 integrated loudness and true peak of the first audio stream (ebur128 summary). */
export async function measureLoudness(input: ProbeInput): Promise<LoudnessStats> {
  const stderr = await runFfmpeg({
    name: 'measure-loudness',
    source: typeof input === 'string' ? undefined : input,
    logLevel: 'info',
    build: (command) => {
      if (typeof input === 'string') command.input(input);
      outputArgs(command, ['-map', '0:a:0', '-af', 'ebur128=peak=true:framelog=verbose', '-f', 'null']);
      command.output('-');
    },
  });
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const integrated = /I:\s+(-?[\d.]+|-inf)\s+LUFS/.exec(summary)?.[1];
  const peak = /Peak:\s+(-?[\d.]+|-inf)\s+dBFS/.exec(summary)?.[1];
  if (integrated === undefined || peak === undefined) {
    throw new MediaError('MEDIA_JOB_FAILED', 'measure-loudness: ebur128 printed no summary');
  }
  return { integratedLufs: toNumber(integrated), truePeakDbtp: toNumber(peak) };
}

function toNumber(value: string): number {
  return value === '-inf' ? Number.NEGATIVE_INFINITY : Number(value);
}
