import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, type Writable } from 'node:stream';
import { H264_INTERMEDIATE, MATROSKA_PIPE, outputArgs } from './codec-args';
import { createFifo } from './fifo';
import { escapeFilterValue } from './filter-args';
import { ffmpegVersion, versionAtLeast, type FfmpegVersion } from './ffmpeg-version';
import { noteAsset } from './job-trace';
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
  if (!options.lut && !options.lutPath) throw new TypeError('grade needs lutPath or lut');
  const version = await ffmpegVersion().catch((err: unknown) => {
    out.destroy(err as Error); // as runFfmpeg does: a consumer must never take the output as complete
    throw err;
  });
  if (options.lut) return gradeFromStream(source, out, options.lut, version, options.signal);
  const lutPath = options.lutPath as string;
  await runGrade(source, out, gradeFilter(lutPath, version), lutPath, options.signal);
  // The LUT is part of the job's parameters: its digest goes into the provenance record.
  noteAsset('lut', await sha256Of(createReadStream(lutPath)));
}

/** The name a LUT's (private, per-run) path is recorded under in the job trace. */
const LUT_ALIAS = 'lut.cube';

/** The grade's filter for this ffmpeg. From 5.0 lut3d has SIMD tetrahedral interpolation for
 * 16-bit planar RGB (about half the CPU of the default RGB24 path); older builds only have C code,
 * where the 16-bit path is slower, so they keep the default conversion. */
export function gradeFilter(lutPath: string, version: FfmpegVersion): string {
  const toRgb = versionAtLeast(version, 5) ? 'format=gbrp16le,' : '';
  return `${toRgb}lut3d=file=${escapeFilterValue(lutPath)}:interp=tetrahedral,format=yuv420p`;
}

async function gradeFromStream(source: Source, out: Writable, lut: Source, version: FfmpegVersion, signal?: AbortSignal): Promise<void> {
  const fifo = await createFifo('grade.cube'); // lut3d picks the parser by extension
  try {
    const hash = createHash('sha256');
    const tap = new Transform({ transform: (chunk: Buffer, _enc, done) => done(null, (hash.update(chunk), chunk)) });
    const fed = Promise.resolve(lut()).then((stream) => pipeline(stream, tap, createWriteStream(fifo.path)));
    fed.catch(() => undefined); // observed below, after ffmpeg settles
    await runGrade(source, out, gradeFilter(fifo.path, version), fifo.path, signal);
    await fed;
    noteAsset('lut', hash.digest('hex'));
  } finally {
    await fifo.dispose(); // releases the LUT writer if ffmpeg died before opening the FIFO
  }
}

async function runGrade(source: Source, out: Writable, filter: string, lutPath: string, signal?: AbortSignal): Promise<void> {
  await runFfmpeg({
    name: 'grade',
    source,
    output: out,
    signal,
    pathAliases: { [lutPath]: LUT_ALIAS },
    build: (command) =>
      outputArgs(command, [
        '-map', '0:v:0',
        '-vf', filter,
        ...H264_INTERMEDIATE,
        ...MATROSKA_PIPE,
      ]),
  });
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
