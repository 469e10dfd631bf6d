// Are the media jobs deterministic? After a crash, a job whose output was not yet handed on may be
// run again (issue 15); the receiver keeps the first copy it got and refuses another digest (409
// SLOT_CONFLICT), so a re-run must give the same bytes. Every job the apps run (apps/*/src/app.ts)
// runs here three times on the same tiny input: twice with REELMESH_MEDIA_THREADS=2 (the default on
// two cores or more), which must be byte-identical, and once with 1. Across thread counts the spec
// asserts what is true on the ffmpeg libs/media resolves (docs/media.md, "Determinism", has the table):
// - identical: demux (stream copy), the sound jobs (PCM; audio filters have no threads), the
//   loudness analysis, the master's inspection and the assembly (picture copied, AAC sound);
// - x264 jobs (split, picture-fx, grade) code the very same picture bit for bit, but x264 writes its
//   options, `threads=N` among them, into an SEI message of the first frame: the files differ in
//   that one character (and the Matroska CRC-32 of the cluster holding it). Checked exactly: the
//   option strings are equal once `threads=` is set aside, and the files are identical without the SEI;
// - hdr10 differs: x265 records `pools=N` in its SEI and takes its frame-thread count from the pool,
//   and on ffmpeg 5.1 zscale (SDR -> PQ) is slice-threaded by the filter graph's thread
//   count (= -threads), which changes chroma samples at the slice seams (measured: luma identical,
//   chroma PSNR about 78 dB). Same thread count, same bytes.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble } from './assemble';
import { ffmpegPath } from './binaries';
import { demux } from './demux';
import { grade } from './grade';
import { hdr10 } from './hdr10';
import { inspectMaster } from './inspect-master';
import { generateSample } from './generate-sample';
import type { ProgrammeFormat } from './format';
import { pictureFx } from './picture-fx';
import { analyseLoudness, combineAnalyses, EMPTY_ANALYSIS, renderLoudness, type LoudnessAnalysis } from './programme-loudness';
import { frameCount } from './quality-metrics';
import type { MediaSettings } from './settings';
import { soundFx } from './sound-fx';
import { splitChunk } from './split-chunk';
import { runPipeline, scratch, WORKFLOW_MEDIA, type Scratch } from './test-support';

const run = promisify(execFile);

/** 1.4 s at 320x180 in 1 s chunks (25 + 10 frames): chunk 1 is cut with a seek and carries a sound handle. */
const MEDIA: MediaSettings = { ...WORKFLOW_MEDIA, chunkSeconds: 1 };

/** What one run of a job leaves: its files by name (bytes), or its result as JSON. */
type Outputs = Record<string, Buffer>;

interface JobRun {
  /** A file for the job to write, in this run's own folder. */
  path(name: string): string;
  sink(name: string): Writable;
}

interface Job {
  name: string;
  /** The function of @reelmesh/media the job is (as the apps call it). */
  fn: string;
  /** What differs between REELMESH_MEDIA_THREADS=1 and =2 (see the header). */
  acrossThreads: 'identical' | 'x264-options' | 'differs';
  run(out: JobRun): Promise<unknown>;
}

let s: Scratch;
let format: ProgrammeFormat;
let programme: LoudnessAnalysis = EMPTY_ANALYSIS;
let runs = 0;

const src = (name: string) => () => createReadStream(s.path(name));

const JOBS: Job[] = [
  { name: 'inspect master (owner)', fn: 'inspectMaster', acrossThreads: 'identical', run: async () => (await inspectMaster(s.path('master.mkv'), MEDIA, { requireSound: true })).format },
  { name: 'split (owner)', fn: 'splitChunk', acrossThreads: 'x264-options', run: (o) => splitChunk(s.path('master.mkv'), format, 1, MEDIA, o.sink('av.mkv')) },
  { name: 'demux (vfx-1)', fn: 'demux', acrossThreads: 'identical', run: (o) => demux(src('av-1.mkv'), { picture: o.sink('picture.mkv'), sound: o.sink('sound.mkv') }) },
  { name: 'picture-fx (vfx-2)', fn: 'pictureFx', acrossThreads: 'x264-options', run: (o) => pictureFx(src('pic-1.mkv'), o.sink('fx.mkv'), MEDIA) },
  { name: 'sound-fx (vfx-3)', fn: 'soundFx', acrossThreads: 'identical', run: (o) => soundFx(src('snd-1.mkv'), o.sink('sfx.mkv'), MEDIA) },
  {
    // As the color app runs it: the LUT streamed from its sealed asset store through a FIFO.
    name: 'grade, LUT through a FIFO (color)',
    fn: 'grade',
    acrossThreads: 'x264-options',
    run: (o) => grade(src('fx-1.mkv'), o.sink('graded.mkv'), { lut: src('look.cube'), intermediate: MEDIA.intermediate }),
  },
  { name: 'grade, LUT file (color, no asset store)', fn: 'grade', acrossThreads: 'x264-options', run: (o) => grade(src('fx-1.mkv'), o.sink('graded.mkv'), { lutPath: s.path('look.cube'), intermediate: MEDIA.intermediate }) },
  { name: 'hdr10 (hdr)', fn: 'hdr10', acrossThreads: 'differs', run: (o) => hdr10(src('graded-1.mkv'), o.sink('hdr.mkv'), MEDIA) },
  { name: 'loudness analyse (sound)', fn: 'analyseLoudness', acrossThreads: 'identical', run: () => analyseLoudness(src('sfx-1.mkv'), 1) },
  { name: 'loudness render (sound)', fn: 'renderLoudness', acrossThreads: 'identical', run: (o) => renderLoudness(src('sfx-1.mkv'), o.sink('mastered.mkv'), programme, MEDIA) },
  {
    name: 'assemble (owner)',
    fn: 'assemble',
    acrossThreads: 'identical',
    run: (o) => assemble({ pictures: [src('hdr-0.mkv'), src('hdr-1.mkv')], sounds: [src('mastered-0.mkv'), src('mastered-1.mkv')] }, o.path('deliverable.mp4'), format),
  },
];

/** Media functions the apps call that run no tool: plain arithmetic, the same for the same input. */
const PURE: Record<string, string> = { combineAnalyses: 'sums two loudness analyses' };

/** Every value the apps import from @reelmesh/media (apps/<app>/src/app.ts and its jobs/*.ts), types left out. */
async function mediaFunctionsOfApps(): Promise<string[]> {
  const apps = fileURLToPath(new URL('../../../apps', import.meta.url));
  const names = new Set<string>();
  for (const app of await readdir(apps)) {
    // The app itself and its job modules (apps/<app>/src/jobs/<job>.ts, where the jobs live).
    const jobs = await readdir(join(apps, app, 'src', 'jobs')).catch(() => [] as string[]);
    const files = [join(apps, app, 'src', 'app.ts'), ...jobs.filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts')).map((f) => join(apps, app, 'src', 'jobs', f))];
    for (const file of files) {
      const text = await readFile(file, 'utf8').catch(() => '');
      for (const [, list] of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@reelmesh\/media'/g)) {
        for (const item of list.split(',').map((x) => x.trim())) if (item && !item.startsWith('type ')) names.add(item);
      }
    }
  }
  return [...names].sort();
}

/** Run `job` once with REELMESH_MEDIA_THREADS=`threads`: every file it wrote, plus its result. */
async function runAt(threads: 1 | 2, job: Job): Promise<Outputs> {
  const dir = s.path(`run-${runs++}`);
  await mkdir(dir);
  const before = process.env.REELMESH_MEDIA_THREADS;
  process.env.REELMESH_MEDIA_THREADS = String(threads);
  let result: unknown;
  try {
    result = await job.run({ path: (name) => join(dir, name), sink: (name) => createWriteStream(join(dir, name)) });
  } finally {
    if (before === undefined) delete process.env.REELMESH_MEDIA_THREADS;
    else process.env.REELMESH_MEDIA_THREADS = before;
  }
  const outputs: Outputs = {};
  for (const name of (await readdir(dir)).sort()) outputs[name] = await readFile(join(dir, name));
  if (result !== undefined) outputs.result = Buffer.from(JSON.stringify(result));
  return outputs;
}

const digests = (outputs: Outputs) => Object.fromEntries(Object.entries(outputs).map(([name, bytes]) => [name, createHash('sha256').update(bytes).digest('hex')]));

/** x264's options SEI ("x264 - core 164 - H.264/MPEG-4 AVC codec - ... options: cabac=1 ..."). */
function x264Options(bytes: Buffer): string {
  const at = bytes.indexOf('x264 - core ');
  expect(at, 'an x264 options SEI').toBeGreaterThanOrEqual(0);
  return bytes.subarray(at, bytes.indexOf(0, at)).toString('latin1');
}

/** `bytes` in a file of their own, for ffmpeg/ffprobe to read. */
async function written(bytes: Buffer, name: string): Promise<string> {
  const path = s.path(`${runs++}-${name}`);
  await writeFile(path, bytes);
  return path;
}

/** The file as it would be without any SEI NAL unit (type 6): remuxed, nothing re-encoded. */
async function withoutSei(bytes: Buffer, name: string): Promise<string> {
  const { stdout } = await run(
    ffmpegPath(),
    ['-hide_banner', '-loglevel', 'error', '-i', await written(bytes, name), '-map', '0', '-c', 'copy', '-bsf:v', 'filter_units=remove_types=6', '-fflags', '+bitexact', '-f', 'matroska', '-'],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  return createHash('sha256').update(stdout).digest('hex');
}

describe('media jobs: the same input and parameters give the same bytes (320x180, 1.4 s)', () => {
  beforeAll(async () => {
    s = await scratch();
    await generateSample({ durationSeconds: 1.4, outPath: s.path('master.mkv'), width: 320, height: 180 });
    // Every job's input, made once by the whole chain (runPipeline writes look.cube, av-i, pic-i, ...).
    ({ format } = await runPipeline(s, 'master.mkv', 'film.mp4', MEDIA));
    for (const i of [0, 1]) programme = combineAnalyses(programme, await analyseLoudness(src(`sfx-${i}.mkv`), i));
  }, 120_000);
  afterAll(() => s?.dispose());

  it('covers every media function the apps call', async () => {
    expect(format.chunkCount).toBe(2);
    const used = await mediaFunctionsOfApps();
    expect(used).toEqual(expect.arrayContaining(['assemble', 'demux', 'grade', 'hdr10', 'renderLoudness', 'splitChunk']));
    expect(used.filter((fn) => !JOBS.some((job) => job.fn === fn) && !(fn in PURE))).toEqual([]);
  });

  it.each(JOBS)('$name: byte-identical at the same thread count ($acrossThreads across 1 and 2)', async (job) => {
    const [twoA, twoB, oneA] = [await runAt(2, job), await runAt(2, job), await runAt(1, job)];
    expect(Object.keys(twoA).length).toBeGreaterThan(0);
    expect(digests(twoB)).toEqual(digests(twoA));
    expect(Object.keys(oneA)).toEqual(Object.keys(twoA));

    switch (job.acrossThreads) {
      case 'identical':
        expect(digests(oneA)).toEqual(digests(twoA));
        break;
      case 'x264-options':
        for (const name of Object.keys(twoA)) {
          const [two, one] = [x264Options(twoA[name]), x264Options(oneA[name])];
          expect(two).toMatch(/ threads=2 /);
          expect(one).toMatch(/ threads=1 /);
          expect(one.replace(/ threads=1 /, ' threads=2 ')).toBe(two);
          // The coded picture (and sound) itself: identical.
          expect(await withoutSei(oneA[name], name)).toBe(await withoutSei(twoA[name], name));
        }
        break;
      case 'differs':
        for (const name of Object.keys(twoA)) {
          expect(digests(oneA)[name]).not.toBe(digests(twoA)[name]);
          expect(await frameCount(await written(oneA[name], name))).toBe(await frameCount(await written(twoA[name], name)));
        }
        break;
    }
  }, 120_000); // three runs of a job (and ffprobe/remux checks): x265 on the bundled 2018 build under load needs more than the default
});

