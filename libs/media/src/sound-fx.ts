import type { Writable } from 'node:stream';
import { MATROSKA_PIPE, outputArgs, pcmIntermediate } from './codec-args';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

/** The sound effects chain: rumble high-pass, a presence lift, and a light slap echo.
 * The echo is built from asplit/adelay/amix with duration=first rather than aecho, because aecho
 * flushes its tail past the end of the input: every chunk would grow and the film would drift.
 * Every filter keeps the sample count, so a chunk comes out exactly as long as it went in; the
 * filters' memory (the echo, the IIR states) is rebuilt from the chunk's sound handle. adelay gets
 * eight delays: one per channel up to 7.1 (unused ones are ignored), so every layout is echoed. */
export const SOUND_FX_CHAIN =
  'highpass=f=80,equalizer=f=3000:width_type=q:width=1:gain=2,asplit=2[dry][wet];' +
  '[wet]adelay=60|60|60|60|60|60|60|60,volume=0.3[echo];[dry][echo]amix=inputs=2:duration=first:dropout_transition=0,volume=2';

export async function soundFx(source: Source, out: Writable, media: Pick<MediaSettings, 'intermediate'>, options: { signal?: AbortSignal } = {}): Promise<void> {
  await runFfmpeg({
    name: 'sound-fx',
    source,
    output: out,
    signal: options.signal,
    build: (command) =>
      outputArgs(command, ['-filter_complex', `[0:a:0]${SOUND_FX_CHAIN}[out]`, '-map', '[out]', ...pcmIntermediate(media), ...MATROSKA_PIPE]),
  });
}
