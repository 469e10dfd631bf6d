import type { Writable } from 'node:stream';
import { MATROSKA_PIPE, outputArgs, pcmIntermediate } from './codec-args';
import { MediaError } from './errors';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

/** Gentle bus compression before normalisation: evens out the chunk so linear gain can reach the
 * loudness target without pushing peaks past the true-peak ceiling. */
export const COMPRESSOR = 'acompressor=threshold=0.125:ratio=3:attack=10:release=200:makeup=1';

export interface LoudnessMeasurement {
  inputI: number;
  inputTp: number;
  inputLra: number;
  inputThresh: number;
  targetOffset: number;
}

export interface LoudnessReport {
  measured: LoudnessMeasurement;
  /** 'linear' when one gain was applied to the whole chunk (the expected case). */
  normalizationType: string;
}

/** Masters one chunk: compressor, then EBU R128 loudnorm in two passes. Pass 1 measures
 * (print_format=json); pass 2 re-reads the source and applies linear normalisation with the
 * measured values. loudnorm works at 192 kHz, so the result is resampled back. */
export async function masterLoudness(
  source: Source,
  out: Writable,
  media: Pick<MediaSettings, 'audio' | 'loudness'>,
  options: { signal?: AbortSignal } = {},
): Promise<LoudnessReport> {
  const { integratedLufs, truePeakDbtp } = media.loudness;
  const target = `I=${integratedLufs}:TP=${truePeakDbtp}:LRA=${TARGET_LRA}`;

  const pass1 = await runFfmpeg({
    name: 'loudness measure',
    source,
    signal: options.signal,
    logLevel: 'info',
    build: (command) => {
      outputArgs(command, ['-map', '0:a:0', '-af', `${COMPRESSOR},loudnorm=${target}:print_format=json`, '-f', 'null']);
      command.output('-');
    },
  });
  const measured = parseLoudnormJson(pass1, 'loudness measure');

  const apply =
    `${COMPRESSOR},loudnorm=${target}:linear=true:print_format=json` +
    `:measured_I=${measured.inputI}:measured_TP=${measured.inputTp}` +
    // A 2 s chunk has (near) zero loudness range; loudnorm treats 0 as "not measured", so floor it.
    `:measured_LRA=${Math.max(measured.inputLra, 0.1)}:measured_thresh=${measured.inputThresh}:offset=${measured.targetOffset}` +
    `,aresample=${media.audio.sampleRate}`;
  const pass2 = await runFfmpeg({
    name: 'loudness apply',
    source,
    output: out,
    signal: options.signal,
    logLevel: 'info',
    build: (command) => outputArgs(command, ['-map', '0:a:0', '-af', apply, ...pcmIntermediate(media), ...MATROSKA_PIPE]),
  });
  const normalizationType = /"normalization_type"\s*:\s*"(\w+)"/.exec(pass2)?.[1] ?? 'unknown';
  return { measured, normalizationType };
}

// Upper bound of loudnorm's LRA target: keeps a real range from forcing dynamic mode.
const TARGET_LRA = 20;

/** The JSON block loudnorm prints at the end of its run. */
export function parseLoudnormJson(stderr: string, job: string): LoudnessMeasurement {
  const start = stderr.lastIndexOf('{');
  const end = stderr.lastIndexOf('}');
  let raw: Record<string, string> | undefined;
  try {
    raw = start >= 0 && end > start ? (JSON.parse(stderr.slice(start, end + 1)) as Record<string, string>) : undefined;
  } catch {
    raw = undefined;
  }
  const value = (key: string) => Number(raw?.[key]);
  const measured = {
    inputI: value('input_i'),
    inputTp: value('input_tp'),
    inputLra: value('input_lra'),
    inputThresh: value('input_thresh'),
    targetOffset: value('target_offset'),
  };
  if (!raw || !Object.values(measured).every(Number.isFinite)) {
    throw new MediaError('MEDIA_JOB_FAILED', `${job}: loudnorm gave no usable measurement (is the sound silent?)`);
  }
  return measured;
}
