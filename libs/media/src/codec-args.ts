import type { FfmpegCommand } from 'fluent-ffmpeg';
import type { MediaSettings, MezzanineCodec } from './settings';

/** Adds arguments verbatim (fluent-ffmpeg splits a single "a b" string; passing several never splits). */
export function outputArgs(command: FfmpegCommand, args: string[]): FfmpegCommand {
  return args.length > 1 ? command.outputOptions(...args) : command.outputOptions(args);
}

export function inputArgs(command: FfmpegCommand, args: string[]): FfmpegCommand {
  return args.length > 1 ? command.inputOptions(...args) : command.inputOptions(args);
}

/** The picture codec contractors exchange. The picture reaching the encoder is already the 10-bit
 * mezzanine format (the split makes it; every later filter chain ends in it), and x264-lossless and
 * ffv1 keep exactly that (lossless at any subsampling: no -pix_fmt, so no job has to probe its
 * input to name it). ProRes 422 HQ and DNxHR HQX are 10-bit 4:2:2 mezzanines (a 4:2:0 picture is
 * carried as 4:2:2). docs/media.md has the measurements. */
export function mezzanineArgs(codec: MezzanineCodec): string[] {
  switch (codec) {
    case 'x264-lossless':
      return ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0'];
    case 'ffv1':
      return ['-c:v', 'ffv1', '-level', '3', '-slices', '4', '-slicecrc', '1'];
    case 'prores-hq':
      return ['-c:v', 'prores_ks', '-profile:v', '3', '-vendor', 'apl0', '-pix_fmt', 'yuv422p10le'];
    case 'dnxhr-hqx':
      return ['-c:v', 'dnxhd', '-profile:v', 'dnxhr_hqx', '-pix_fmt', 'yuv422p10le'];
  }
}

/** Picture frames pass through with their own timestamps: no frame is dropped or repeated. */
export const KEEP_FRAMES = ['-vsync', 'passthrough'];

/** Intermediate sound: PCM of 24 bits or more at the sound's own rate and layout. */
export function pcmIntermediate(media: Pick<MediaSettings, 'intermediate'>): string[] {
  return ['-c:a', media.intermediate.sound];
}

/** Matroska to a pipe: no seeking back, so no cues; clusters stay small for streaming. */
export const MATROSKA_PIPE = ['-f', 'matroska', '-cluster_time_limit', '1000'];
