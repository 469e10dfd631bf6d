import { MediaError } from './errors';
import type { Conform } from './settings';

/** A frame rate as the exact fraction ffprobe reports (24000/1001, 25/1, ...). */
export interface Rational {
  num: number;
  den: number;
}

export interface PictureFormat {
  width: number;
  height: number;
  frameRate: Rational;
  /** The master's pixel format (e.g. yuv420p, yuv422p10le). */
  pixFmt: string;
  /** What travels between contractors: the master's chroma subsampling at 10 bits (never fewer). */
  mezzaninePixFmt: string;
  interlaced: boolean;
}

export interface SoundFormat {
  sampleRate: number;
  channels: number;
  /** ffmpeg's layout name ('mono', 'stereo', '5.1', ...). */
  channelLayout: string;
}

/** The programme as the workflow carries it: the master's own format (or the explicit conform),
 * its exact length in frames, and how it is cut into chunks. Every party derives chunk boundaries
 * from this one record (the owner splits and assembles with it). */
export interface ProgrammeFormat {
  /** What the workflow carries and delivers: the master's format, or the conform's. */
  picture: PictureFormat;
  sound?: SoundFormat;
  /** The master as found (equal to picture/sound unless a conform applies). */
  master: { picture: PictureFormat; sound?: SoundFormat };
  /** Frames in the master (and the deliverable). */
  frames: number;
  chunkFrames: number;
  chunkCount: number;
  /** The conform applied at the split, when the workflow asked for one (reported, never silent). */
  conform?: Conform;
}

/** Every sound chunk after the first starts with this much of the sound before it (its handle):
 * stateful filters (echo, compressor, limiter) warm up on it, and the assembly drops it, so the
 * joins are continuous. */
export const SOUND_HANDLE_SECONDS = 1;

/** Samples of handle at the start of sound chunk `chunkIndex`. */
export function soundHandleSamples(chunkIndex: number, sampleRate: number): number {
  return chunkIndex > 0 ? Math.round(SOUND_HANDLE_SECONDS * sampleRate) : 0;
}

/** ffmpeg's layout names for the channel counts a conform can ask for. */
export const CHANNEL_LAYOUTS: Record<number, string> = { 1: 'mono', 2: 'stereo', 6: '5.1' };

/** '25', '24000/1001' or '25/1' as a fraction; undefined for anything else ('0/0', 'N/A'). */
export function parseRational(value: string | undefined): Rational | undefined {
  const [num, den = 1] = (value ?? '').split('/').map(Number);
  return Number.isInteger(num) && Number.isInteger(den) && num > 0 && den > 0 ? { num, den } : undefined;
}

export function rateString(rate: Rational): string {
  return `${rate.num}/${rate.den}`;
}

export function rateValue(rate: Rational): number {
  return rate.num / rate.den;
}

/** Frames per chunk: chunkSeconds rounded UP to whole frames (2 s at 24000/1001 is 48 frames, 2.002 s). */
export function chunkFramesFor(chunkSeconds: number, rate: Rational): number {
  if (!(chunkSeconds > 0)) throw new MediaError('MEDIA_INVALID_ARGUMENT', `chunkSeconds must be > 0, got ${chunkSeconds}`);
  return Math.max(1, Math.ceil((chunkSeconds * rate.num) / rate.den - 1e-9));
}

export function chunkCountFor(frames: number, chunkFrames: number): number {
  return Math.max(1, Math.ceil(frames / chunkFrames));
}

/** First frame and frame count of a chunk (the last takes the remainder). */
export function chunkFrames(format: ProgrammeFormat, chunkIndex: number): { first: number; count: number } {
  checkIndex(format, chunkIndex);
  const first = chunkIndex * format.chunkFrames;
  return { first, count: Math.min(format.chunkFrames, format.frames - first) };
}

/** The sample that plays with frame `frame` (rounded to the nearest sample). */
export function sampleAtFrame(frame: number, rate: Rational, sampleRate: number): number {
  return Math.round((frame * sampleRate * rate.den) / rate.num);
}

/** The sound of a chunk in samples: where it starts in the programme, how many samples it has
 * (undefined for the last chunk: everything to the end of the sound), and its handle. */
export function chunkSamples(
  format: ProgrammeFormat,
  chunkIndex: number,
  sampleRate = format.sound?.sampleRate,
): { first: number; count?: number; handle: number } {
  if (!sampleRate) throw new MediaError('MEDIA_INVALID_ARGUMENT', 'the programme has no sound');
  const { first: firstFrame, count } = chunkFrames(format, chunkIndex);
  const first = sampleAtFrame(firstFrame, format.picture.frameRate, sampleRate);
  const last = chunkIndex === format.chunkCount - 1;
  const end = sampleAtFrame(firstFrame + count, format.picture.frameRate, sampleRate);
  return { first, count: last ? undefined : end - first, handle: soundHandleSamples(chunkIndex, sampleRate) };
}

function checkIndex(format: ProgrammeFormat, chunkIndex: number): void {
  if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= format.chunkCount) {
    throw new MediaError('MEDIA_INVALID_ARGUMENT', `chunk index must be an integer in 0..${format.chunkCount - 1}, got ${chunkIndex}`);
  }
}

/** The 10-bit (or deeper) pixel format with the master's chroma subsampling. */
export function mezzaninePixelFormat(pixFmt: string): string | undefined {
  const chroma = /^(?:yuv|yuvj)(420|422|444)p/.exec(pixFmt)?.[1] ?? (/^(?:gray|gbr|rgb|bgr)/.test(pixFmt) ? '444' : undefined);
  if (!chroma) return undefined;
  return `yuv${chroma}p10le`;
}

/** Bits per component of a pixel format name (8 when it names none). */
export function bitDepthOf(pixFmt: string): number {
  const bits = /p(\d{2})(?:le|be)?$/.exec(pixFmt)?.[1] ?? /(?:gray|rgb|bgr)(\d{2})/.exec(pixFmt)?.[1];
  if (bits) return Number(bits);
  if (/^(?:rgb48|bgr48|rgba64|bgra64)/.test(pixFmt)) return 16;
  return 8;
}

