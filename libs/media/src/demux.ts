import type { Writable } from 'node:stream';
import { MATROSKA_PIPE, outputArgs } from './codec-args';
import { runFfmpeg } from './run-ffmpeg';
import type { Source } from './settings';

export interface DemuxOutputs {
  picture: Writable;
  sound: Writable;
}

/** Splits an A/V chunk into a picture-only and a sound-only Matroska (stream copy), in one ffmpeg
 * run: the chunk is read (and opened from the sealed store) once, not once per output, and one
 * process starts instead of two (a stream copy costs little more than ffmpeg's start). The
 * picture goes to stdout, the sound through a FIFO; if either output fails, both do. */
export async function demux(source: Source, outputs: DemuxOutputs): Promise<void> {
  await runFfmpeg({
    name: 'demux',
    source,
    output: outputs.picture,
    sideOutputs: [{ name: 'sound.mkv', args: ['-map', '0:a:0', '-c', 'copy', ...MATROSKA_PIPE], output: outputs.sound }],
    build: (command) => outputArgs(command, ['-map', '0:v:0', '-c', 'copy', ...MATROSKA_PIPE]),
  });
}
