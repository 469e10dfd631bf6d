import type { Writable } from 'node:stream';
import { H264_INTERMEDIATE, MATROSKA_PIPE, outputArgs } from './codec-args';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

/** The visual effects chain: a soft vignette, light luma sharpening, a touch of contrast and
 * saturation. Chosen to be cheap per pixel (see the media timing note). */
export const PICTURE_FX_CHAIN = 'vignette=angle=PI/6,unsharp=3:3:0.8,eq=contrast=1.05:saturation=1.1,format=yuv420p';

export async function pictureFx(source: Source, out: Writable, media: Pick<MediaSettings, 'frameRate'>, options: { signal?: AbortSignal } = {}): Promise<void> {
  await runFfmpeg({
    name: 'picture-fx',
    source,
    output: out,
    signal: options.signal,
    build: (command) =>
      outputArgs(command, ['-map', '0:v:0', '-vf', PICTURE_FX_CHAIN, '-r', String(media.frameRate), ...H264_INTERMEDIATE, ...MATROSKA_PIPE]),
  });
}
