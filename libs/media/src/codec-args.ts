import type { FfmpegCommand } from 'fluent-ffmpeg';
import type { MediaSettings } from './settings';

/** Adds arguments verbatim (fluent-ffmpeg splits a single "a b" string; passing several never splits). */
export function outputArgs(command: FfmpegCommand, args: string[]): FfmpegCommand {
  return args.length > 1 ? command.outputOptions(...args) : command.outputOptions(args);
}

export function inputArgs(command: FfmpegCommand, args: string[]): FfmpegCommand {
  return args.length > 1 ? command.inputOptions(...args) : command.inputOptions(args);
}

/** Intermediate picture: H.264 ultrafast, 8-bit 4:2:0, tagged BT.709 so colour-aware filters downstream
 * (zscale) know what they get. */
export const H264_INTERMEDIATE = [
  '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-pix_fmt', 'yuv420p',
  '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv',
];

/** Intermediate sound: 16-bit PCM at the workflow's rate and channel count. */
export function pcmIntermediate(media: Pick<MediaSettings, 'audio'>): string[] {
  return ['-c:a', 'pcm_s16le', '-ar', String(media.audio.sampleRate), '-ac', String(media.audio.channels)];
}

/** Matroska to a pipe: no seeking back, so no cues; clusters stay small for streaming. */
export const MATROSKA_PIPE = ['-f', 'matroska', '-cluster_time_limit', '1000'];
