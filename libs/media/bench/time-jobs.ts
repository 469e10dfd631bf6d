/**
 * Timing note for the media jobs (NOT a test): runs every job once on one 2 s 720p chunk and prints
 * wall time and ffmpeg CPU per job, and the CPU a chunk costs through the whole workflow.
 * By default it runs twice: with the bundled ffmpeg and with the system one (/usr/bin/ffmpeg,
 * if present). FFMPEG_PATH/FFPROBE_PATH set in the environment = only that build.
 * CPU time inflates when the shared machine is busy: pass repeats > 1 to keep each job's best run.
 * Usage: cd /work/main && npx tsx libs/media/bench/time-jobs.ts [seconds=4] [repeats=1]
 */
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assemble, demux, ffmpegPath, ffmpegVersion, generateLut, generateSample, grade, hdr10, inspectMaster, masterLoudness,
  measureLoudness, pictureFx, probe, soundFx, splitChunk, type MediaSettings,
} from '../src/index';
import { WORKFLOW_MEDIA } from '../src/test-support';

const media: MediaSettings = WORKFLOW_MEDIA;

interface Row {
  label: string;
  wall: number;
  cpu: number;
  /** Runs once per chunk in the workflow (counts towards the per-chunk total). */
  perChunk: boolean;
}

async function timeAll(seconds: number): Promise<{ version: string; rows: Row[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-media-bench-'));
  const file = (name: string) => join(dir, name);
  const src = (name: string) => () => createReadStream(file(name));
  const sink = (name: string) => createWriteStream(file(name));
  const rows: Row[] = [];
  const time = async (label: string, perChunk: boolean, job: () => Promise<unknown>) => {
    const start = performance.now();
    const cpuStart = childCpuSeconds();
    await job();
    rows.push({ label, wall: (performance.now() - start) / 1000, cpu: childCpuSeconds() - cpuStart, perChunk });
  };
  try {
    const version = (await ffmpegVersion()).raw;
    await time(`generateSample ${seconds}s 720p`, false, () => generateSample({ durationSeconds: seconds, media, outPath: file('master.mkv') }));
    await time('generateLut 33', false, () => generateLut({ size: 33, outPath: file('look.cube') }));
    let master = await inspectMaster(file('master.mkv'), media);
    await time('inspectMaster', false, async () => (master = await inspectMaster(file('master.mkv'), media)));
    await time('splitChunk re-encode (not used)', false, () => splitChunk(file('master.mkv'), 0, media, sink('av-encoded.mkv')));
    await time(`splitChunk ${master.videoCopyable ? 'copy' : 're-encode'}`, true, () =>
      splitChunk(file('master.mkv'), 0, media, sink('av.mkv'), { videoCopyable: master.videoCopyable }),
    );
    await time('demux', true, () => demux(src('av.mkv'), { picture: sink('pic.mkv'), sound: sink('snd.mkv') }));
    await time('pictureFx', true, () => pictureFx(src('pic.mkv'), sink('fx.mkv'), media));
    await time('soundFx', true, () => soundFx(src('snd.mkv'), sink('sfx.mkv'), media));
    await time('grade', true, () => grade(src('fx.mkv'), sink('graded.mkv'), { lutPath: file('look.cube') }));
    await time('hdr10', true, () => hdr10(src('graded.mkv'), sink('hdr.mkv'), media));
    await time('masterLoudness', true, () => masterLoudness(src('sfx.mkv'), sink('mastered.mkv'), media));
    await time('assemble (1 chunk)', true, () => assemble({ pictures: [src('hdr.mkv')], sounds: [src('mastered.mkv')] }, file('film.mkv'), media));
    await time('probe (piped chunk)', false, () => probe(src('hdr.mkv')));
    await time('measureLoudness', false, () => measureLoudness(file('film.mkv')));
    return { version, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU time of reaped child processes (ffmpeg, ffprobe), from /proc/self/stat (Linux, 100 Hz ticks). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 4);
  const repeats = Math.max(1, Number(process.argv[3] ?? 1));
  const builds: { ffmpeg?: string; ffprobe?: string }[] = process.env.FFMPEG_PATH
    ? [{ ffmpeg: process.env.FFMPEG_PATH, ffprobe: process.env.FFPROBE_PATH }]
    : [{}, ...(existsSync('/usr/bin/ffmpeg') && existsSync('/usr/bin/ffprobe') ? [{ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe' }] : [])];
  const totals: string[] = [];
  for (const build of builds) {
    setEnv('FFMPEG_PATH', build.ffmpeg);
    setEnv('FFPROBE_PATH', build.ffprobe);
    const { version, rows } = await bestOf(repeats, seconds);
    console.log(`\nffmpeg ${version} (${ffmpegPath()}); threads per job: ${process.env.REELMESH_MEDIA_THREADS ?? 'default'}; best of ${repeats}`);
    console.log(`${'job'.padEnd(34)} wall      ffmpeg CPU (user+sys)`);
    for (const row of rows) console.log(`${(row.perChunk ? '* ' : '  ') + row.label.padEnd(32)} ${row.wall.toFixed(2)} s    ${row.cpu.toFixed(2)} s`);
    const chunk = rows.filter((row) => row.perChunk);
    const cpu = chunk.reduce((sum, row) => sum + row.cpu, 0);
    const wall = chunk.reduce((sum, row) => sum + row.wall, 0);
    console.log(`* per 2 s chunk: ${cpu.toFixed(2)} CPU-s (${wall.toFixed(2)} s wall, jobs one after another)`);
    totals.push(`${version.padEnd(30)} ${cpu.toFixed(2)} CPU-s per chunk`);
  }
  console.log(`\nper-chunk totals:\n${totals.join('\n')}`);
}

/** Each job's run with the least CPU (wall from that same run). */
async function bestOf(repeats: number, seconds: number): Promise<{ version: string; rows: Row[] }> {
  const best = await timeAll(seconds);
  for (let i = 1; i < repeats; i++) {
    const { rows } = await timeAll(seconds);
    rows.forEach((row, j) => {
      if (row.cpu < best.rows[j].cpu) best.rows[j] = row;
    });
  }
  return best;
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

await main();
