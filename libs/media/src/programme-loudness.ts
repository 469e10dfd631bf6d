import type { Writable } from 'node:stream';
import { MATROSKA_PIPE, outputArgs, pcmIntermediate } from './codec-args';
import { MediaError } from './errors';
import { SOUND_HANDLE_SECONDS } from './format';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

// Programme loudness (EBU R128 / ITU-R BS.1770-4), streaming-friendly:
//  1. analyse, per chunk as it arrives: the mastering compressor, then ebur128's momentary loudness
//     of every 400 ms block (one every 100 ms) that ends inside the chunk proper (the handle only
//     warms the filters up). The blocks go into a fixed-size histogram: memory does not grow with
//     the film.
//  2. once every chunk is analysed, the histograms are summed and gated as BS.1770 does over the
//     whole programme (absolute gate -70 LUFS, relative gate -10 LU): one integrated loudness, one
//     gain for the programme.
//  3. render, per chunk: compressor, that one gain, and a look-ahead limiter whose delay is
//     compensated, so every chunk keeps its exact sample count. Silence stays silence (all of these
//     map zero to zero) and is never an error: a silent programme gets no gain.

/** Gentle bus compression: evens out the programme so linear gain can reach the loudness target
 * without pushing peaks past the ceiling. */
export const COMPRESSOR = 'acompressor=threshold=0.125:ratio=3:attack=10:release=200:makeup=1';

const LIMITER_ATTACK_MS = 5;

/** Sample peaks are limited this far below the true-peak target: inter-sample peaks and the
 * delivery's AAC encode add up to about this much. */
export const LIMITER_MARGIN_DB = 1;

/** alimiter delays its output by its look-ahead and, before ffmpeg 5, does not flush it: pad the
 * input by the delay and drop that many samples after, on either build (the delay is
 * floor(rate x attack) - 1 samples, measured on both builds). */
export function limiterChain(ceilingDbfs: number, sampleRate: number): string {
  const delay = Math.floor((sampleRate * LIMITER_ATTACK_MS) / 1000) - 1;
  const limit = Math.min(1, Math.max(0.0625, 10 ** (ceilingDbfs / 20)));
  return `apad=pad_len=${delay},alimiter=limit=${limit.toFixed(6)}:attack=${LIMITER_ATTACK_MS}:release=50:level=0,atrim=start_sample=${delay}`;
}

/** The mastering chain with the programme's gain: what render runs per chunk, and what a reference
 * render runs once over the whole programme. */
export function masteringChain(gainDb: number, media: Pick<MediaSettings, 'loudness'>, sampleRate: number): string {
  return `${COMPRESSOR},volume=${gainDb.toFixed(4)}dB,${limiterChain(media.loudness.truePeakDbtp - LIMITER_MARGIN_DB, sampleRate)}`;
}

// Histogram of block loudness: 0.01 LU bins from -70 LUFS up; a block's energy is summed in its bin.
const FLOOR_LUFS = -70;
const BIN_LU = 0.01;
const BINS = 9000; // up to +20 LUFS

/** Block loudness of part of a programme, in a fixed-size sparse histogram (bin -> count, energy). */
export interface LoudnessAnalysis {
  /** [bin, blocks, summed energy] for every non-empty bin. */
  bins: Array<[number, number, number]>;
  /** Highest true peak seen (dBTP; -Infinity for silence). */
  truePeakDbtp: number;
  blocks: number;
  /** The sound's sample rate (the render's limiter needs it; read from the analysis, not a probe). */
  sampleRate: number;
}

export const EMPTY_ANALYSIS: LoudnessAnalysis = { bins: [], truePeakDbtp: Number.NEGATIVE_INFINITY, blocks: 0, sampleRate: 0 };

/** Two analyses as one (the programme's is the sum of its chunks'). */
export function combineAnalyses(a: LoudnessAnalysis, b: LoudnessAnalysis): LoudnessAnalysis {
  const bins = new Map<number, [number, number, number]>();
  for (const [bin, count, energy] of [...a.bins, ...b.bins]) {
    const slot = bins.get(bin) ?? [bin, 0, 0];
    slot[1] += count;
    slot[2] += energy;
    bins.set(bin, slot);
  }
  return {
    bins: [...bins.values()].sort((x, y) => x[0] - y[0]),
    truePeakDbtp: Math.max(a.truePeakDbtp, b.truePeakDbtp),
    blocks: a.blocks + b.blocks,
    sampleRate: a.sampleRate || b.sampleRate,
  };
}

/** BS.1770 gated integrated loudness (LUFS; -Infinity when every block is below the absolute gate). */
export function integratedLoudness(analysis: LoudnessAnalysis): number {
  const loudness = (energy: number, count: number) => -0.691 + 10 * Math.log10(energy / count);
  let count = 0;
  let energy = 0;
  for (const [, c, e] of analysis.bins) {
    count += c;
    energy += e;
  }
  if (count === 0) return Number.NEGATIVE_INFINITY;
  const relativeGate = loudness(energy, count) - 10;
  count = 0;
  energy = 0;
  for (const [bin, c, e] of analysis.bins) {
    if (FLOOR_LUFS + bin * BIN_LU < relativeGate) continue;
    count += c;
    energy += e;
  }
  return count === 0 ? Number.NEGATIVE_INFINITY : loudness(energy, count);
}

/** The one gain (dB) that brings the programme to the target; 0 for a silent programme. */
export function programmeGain(analysis: LoudnessAnalysis, media: Pick<MediaSettings, 'loudness'>): number {
  const integrated = integratedLoudness(analysis);
  return Number.isFinite(integrated) ? media.loudness.integratedLufs - integrated : 0;
}

/** Pass 1 on one chunk: compressed, then measured block by block. `chunkIndex` > 0 means the chunk
 * starts with a handle, whose blocks belong to the chunk before. */
export async function analyseLoudness(source: Source, chunkIndex: number, options: { signal?: AbortSignal } = {}): Promise<LoudnessAnalysis> {
  const stderr = await runFfmpeg({
    name: 'loudness analyse',
    source,
    signal: options.signal,
    logLevel: 'info',
    build: (command) => {
      outputArgs(command, ['-map', '0:a:0', '-af', `${COMPRESSOR},ebur128=framelog=info:peak=true`, '-f', 'null']);
      command.output('-');
    },
  });
  // A block is counted by the chunk it ends in; the first full block of the programme ends at 0.4 s.
  const from = chunkIndex > 0 ? SOUND_HANDLE_SECONDS : 0.4;
  const bins = new Map<number, [number, number, number]>();
  let blocks = 0;
  for (const match of stderr.matchAll(/t:\s*([\d.]+)\s+TARGET:\S+\s+LUFS\s+M:\s*(-?[\d.]+|-?inf|nan)/g)) {
    const t = Number(match[1]);
    if (t < from - 0.05) continue;
    blocks++;
    const momentary = Number(match[2]);
    if (!Number.isFinite(momentary) || momentary <= FLOOR_LUFS) continue; // below the absolute gate
    const bin = Math.min(BINS - 1, Math.floor((momentary - FLOOR_LUFS) / BIN_LU));
    const slot = bins.get(bin) ?? [bin, 0, 0];
    slot[1] += 1;
    slot[2] += 10 ** ((momentary + 0.691) / 10);
    bins.set(bin, slot);
  }
  const peak = /Peak:\s+(-?[\d.]+|-inf)\s+dBFS/.exec(stderr.slice(stderr.lastIndexOf('Summary:')))?.[1];
  if (peak === undefined) throw new MediaError('MEDIA_JOB_FAILED', 'loudness analyse: ebur128 printed no summary');
  // ffmpeg names its input at info level: "Stream #0:0: Audio: pcm_s24le, 48000 Hz, stereo, ...".
  const sampleRate = Number(/Stream #0:\d+[^:]*: Audio: [^,]+, (\d+) Hz/.exec(stderr)?.[1]);
  if (!(sampleRate > 0)) throw new MediaError('MEDIA_JOB_FAILED', 'loudness analyse: ffmpeg named no sample rate for the input');
  return { bins: [...bins.values()].sort((a, b) => a[0] - b[0]), truePeakDbtp: peak === '-inf' ? Number.NEGATIVE_INFINITY : Number(peak), blocks, sampleRate };
}

/** Pass 2 on one chunk: the mastering chain with the programme's gain; the chunk keeps its length. */
export async function renderLoudness(
  source: Source,
  out: Writable,
  programme: LoudnessAnalysis,
  media: Pick<MediaSettings, 'loudness' | 'intermediate'>,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const gainDb = programmeGain(programme, media);
  const { sampleRate } = programme;
  await runFfmpeg({
    name: 'loudness render',
    source,
    output: out,
    signal: options.signal,
    build: (command) => outputArgs(command, ['-map', '0:a:0', '-af', masteringChain(gainDb, media, sampleRate), ...pcmIntermediate(media), ...MATROSKA_PIPE]),
  });
}
