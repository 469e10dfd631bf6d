import type { Writable } from 'node:stream';
import { KEEP_FRAMES, MATROSKA_PIPE, mezzanineArgs, outputArgs } from './codec-args';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

/** The visual effects as a filtergraph from `input` to `output` (labels such as '[0:v:0]', '[fx]'),
 * so a reference render can chain it with the other steps in one process. Every filter keeps the
 * 10-bit mezzanine picture at 10 bits on both ffmpeg builds (vignette, unsharp and eq would drop it
 * to 8): a soft vignette (a luma mask made once from the first frame, multiplied in), light luma
 * sharpening (4-neighbour kernel, amount 0.8), a touch of contrast and saturation (lutyuv). */
export function pictureFxGraph(input: string, output: string): string {
  return (
    `${input}split[fx_picture][fx_first];` +
    `[fx_first]trim=end_frame=1,geq=lum='1023*(1-0.7*(pow(X/W-0.5,2)+pow(Y/H-0.5,2)))':cb=512:cr=512,loop=loop=-1:size=1[fx_mask];` +
    `[fx_picture][fx_mask]blend=c0_mode=multiply:c1_mode=normal:c2_mode=normal:shortest=1,` +
    `convolution=0m='0 -1 0 -1 9 -1 0 -1 0':0rdiv=0.2:1m='0 0 0 0 1 0 0 0 0':2m='0 0 0 0 1 0 0 0 0',` +
    `lutyuv=y='clip((val-(minval+maxval)/2)*1.05+(minval+maxval)/2,minval,maxval)'` +
    `:u='clip((val-(minval+maxval)/2)*1.1+(minval+maxval)/2,minval,maxval)'` +
    `:v='clip((val-(minval+maxval)/2)*1.1+(minval+maxval)/2,minval,maxval)'${output}`
  );
}

export async function pictureFx(source: Source, out: Writable, media: Pick<MediaSettings, 'intermediate'>, options: { signal?: AbortSignal } = {}): Promise<void> {
  await runFfmpeg({
    name: 'picture-fx',
    source,
    output: out,
    signal: options.signal,
    build: (command) =>
      outputArgs(command, [
        '-filter_complex', pictureFxGraph('[0:v:0]', '[out]'),
        '-map', '[out]',
        ...mezzanineArgs(media.intermediate.picture),
        ...KEEP_FRAMES,
        ...MATROSKA_PIPE,
      ]),
  });
}
