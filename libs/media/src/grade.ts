import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, type Writable } from 'node:stream';
import { KEEP_FRAMES, MATROSKA_PIPE, mezzanineArgs, outputArgs } from './codec-args';
import { createFifo } from './fifo';
import { escapeFilterValue } from './filter-args';
import { ffmpegVersion, versionAtLeast, type FfmpegVersion } from './ffmpeg-version';
import { noteAsset } from './job-trace';
import { beforeJob, runFfmpeg } from './run-ffmpeg';
import { pictureStreamOf } from './probe';
import type { MediaSettings, MezzanineCodec, Source } from './settings';

export interface GradeOptions {
  /** Path of the .cube LUT (a plain file: tests and the security-off baseline). */
  lutPath?: string;
  /** The LUT as a stream (opened from the colourist's sealed asset store): fed to lut3d through a
   * FIFO so the plaintext LUT never touches a disk. Wins over lutPath. */
  lut?: Source;
  /** The mezzanine the graded picture is handed on in. */
  intermediate: MediaSettings['intermediate'];
  signal?: AbortSignal;
}

/** Colour grade: applies the colourist's 3D LUT (tetrahedral interpolation). */
export async function grade(source: Source, out: Writable, options: GradeOptions): Promise<void> {
  if (!options.lut && !options.lutPath) throw new TypeError('grade needs lutPath or lut');
  const version = await beforeJob(out, () => ffmpegVersion());
  const { pixFmt } = await beforeJob(out, () => pictureStreamOf(source, 'grade'));
  const codec = options.intermediate.picture;
  if (options.lut) return gradeFromStream(source, out, options.lut, (lut) => gradeFilter(lut, version, pixFmt), codec, options.signal);
  const lutPath = options.lutPath as string;
  await runGrade(source, out, gradeFilter(lutPath, version, pixFmt), lutPath, codec, options.signal);
  // The LUT is part of the job's parameters: its digest goes into the provenance record.
  noteAsset('lut', await sha256Of(createReadStream(lutPath)));
}

/** The name a LUT's (private, per-run) path is recorded under in the job trace. */
const LUT_ALIAS = 'lut.cube';

/** The scaler's method, stated: ffmpeg before 5 gives a scale filter bilinear inside a
 * -filter_complex graph and bicubic in a -vf chain, so the same grade run from a chunk file and
 * inside one filter graph would differ (about 1 dB PSNR-Y on the deliverable, measured). */
const SCALER = 'flags=bicubic+accurate_rnd+full_chroma_int';

/** The grade as a filtergraph chain (no labels): the picture goes to 16-bit RGB with the BT.709
 * matrix (stated, not the scaler's BT.601 default), through the LUT with tetrahedral interpolation,
 * and back to `pixFmt` (the 10-bit mezzanine format it came in). On ffmpeg 5+, lut3d has a fast
 * planar 16-bit path (gbrp16le); older builds take packed rgb48le. Either keeps 16 bits. */
export function gradeFilter(lutPath: string, version: FfmpegVersion, pixFmt: string): string {
  const rgb = versionAtLeast(version, 5) ? 'gbrp16le' : 'rgb48le';
  return (
    `scale=in_color_matrix=bt709:in_range=tv:${SCALER},format=${rgb},` +
    `lut3d=file=${escapeFilterValue(lutPath)}:interp=tetrahedral,` +
    `scale=out_color_matrix=bt709:out_range=tv:${SCALER},format=${pixFmt}`
  );
}

async function gradeFromStream(
  source: Source,
  out: Writable,
  lut: Source,
  filter: (lutPath: string) => string,
  codec: MezzanineCodec,
  signal?: AbortSignal,
): Promise<void> {
  const fifo = await createFifo('grade.cube'); // lut3d picks the parser by extension
  try {
    const hash = createHash('sha256');
    const tap = new Transform({ transform: (chunk: Buffer, _enc, done) => done(null, (hash.update(chunk), chunk)) });
    const fed = Promise.resolve(lut()).then((stream) => pipeline(stream, tap, createWriteStream(fifo.path)));
    fed.catch(() => undefined); // observed below, after ffmpeg settles
    await runGrade(source, out, filter(fifo.path), fifo.path, codec, signal);
    await fed;
    noteAsset('lut', hash.digest('hex'));
  } finally {
    await fifo.dispose(); // releases the LUT writer if ffmpeg died before opening the FIFO
  }
}

async function runGrade(source: Source, out: Writable, filter: string, lutPath: string, codec: MezzanineCodec, signal?: AbortSignal): Promise<void> {
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
        ...mezzanineArgs(codec),
        ...KEEP_FRAMES,
        ...MATROSKA_PIPE,
      ]),
  });
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
