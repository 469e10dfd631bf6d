import type { Writable } from 'node:stream';
import { H264_INTERMEDIATE, MATROSKA_PIPE, outputArgs } from './codec-args';
import { escapeFilterValue } from './filter-args';
import { runFfmpeg } from './run-ffmpeg';
import type { Source } from './settings';

export interface GradeOptions {
  /** Path of the .cube LUT. lut3d reads it once at start-up, so it may be a FIFO fed from a sealed asset. */
  lutPath: string;
  signal?: AbortSignal;
}

/** Colour grade: applies the colourist's 3D LUT (tetrahedral interpolation). */
export async function grade(source: Source, out: Writable, options: GradeOptions): Promise<void> {
  await runFfmpeg({
    name: 'grade',
    source,
    output: out,
    signal: options.signal,
    build: (command) =>
      outputArgs(command, [
        '-map', '0:v:0',
        '-vf', `lut3d=file=${escapeFilterValue(options.lutPath)}:interp=tetrahedral,format=yuv420p`,
        ...H264_INTERMEDIATE,
        ...MATROSKA_PIPE,
      ]),
  });
}
