import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { H264_INTERMEDIATE, MATROSKA_PIPE, outputArgs } from './codec-args';
import { createFifo } from './fifo';
import { escapeFilterValue } from './filter-args';
import { runFfmpeg } from './run-ffmpeg';
import type { Source } from './settings';

export interface GradeOptions {
  /** Path of the .cube LUT (a plain file: tests and the security-off baseline). */
  lutPath?: string;
  /** The LUT as a stream (opened from the colourist's sealed asset store): fed to lut3d through a
   * FIFO so the plaintext LUT never touches a disk. Wins over lutPath. */
  lut?: Source;
  signal?: AbortSignal;
}

/** Colour grade: applies the colourist's 3D LUT (tetrahedral interpolation). */
export async function grade(source: Source, out: Writable, options: GradeOptions): Promise<void> {
  if (options.lut) return gradeFromStream(source, out, options.lut, options.signal);
  if (!options.lutPath) throw new TypeError('grade needs lutPath or lut');
  await runGrade(source, out, options.lutPath, options.signal);
}

async function gradeFromStream(source: Source, out: Writable, lut: Source, signal?: AbortSignal): Promise<void> {
  const fifo = await createFifo('grade.cube'); // lut3d picks the parser by extension
  try {
    const fed = Promise.resolve(lut()).then((stream) => pipeline(stream, createWriteStream(fifo.path)));
    fed.catch(() => undefined); // observed below, after ffmpeg settles
    await runGrade(source, out, fifo.path, signal);
    await fed;
  } finally {
    await fifo.dispose(); // releases the LUT writer if ffmpeg died before opening the FIFO
  }
}

async function runGrade(source: Source, out: Writable, lutPath: string, signal?: AbortSignal): Promise<void> {
  await runFfmpeg({
    name: 'grade',
    source,
    output: out,
    signal,
    build: (command) =>
      outputArgs(command, [
        '-map', '0:v:0',
        '-vf', `lut3d=file=${escapeFilterValue(lutPath)}:interp=tetrahedral,format=yuv420p`,
        ...H264_INTERMEDIATE,
        ...MATROSKA_PIPE,
      ]),
  });
}
