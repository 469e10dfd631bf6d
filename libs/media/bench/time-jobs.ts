/**
 * Timing note for the media jobs (NOT a test): runs every job once on one 2 s 720p chunk and prints
 * wall time per job. Usage: cd /work/main && npx tsx libs/media/bench/time-jobs.ts [seconds=4]
 */
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assemble, demux, generateLut, generateSample, grade, hdr10, inspectMaster, masterLoudness, measureLoudness,
  pictureFx, probe, soundFx, splitChunk, type MediaSettings,
} from '../src/index';

const media: MediaSettings = {
  chunkSeconds: 2,
  resolution: { width: 1280, height: 720 },
  frameRate: 25,
  audio: { sampleRate: 48000, channels: 2 },
  loudness: { integratedLufs: -23, truePeakDbtp: -1 },
  lut: { ref: 'assets/color/film-look.cube', size: 33 },
  hdr: { masterDisplay: 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)', maxCll: '1000,400' },
};

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 4);
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-media-bench-'));
  const file = (name: string) => join(dir, name);
  const src = (name: string) => () => createReadStream(file(name));
  const sink = (name: string) => createWriteStream(file(name));
  const rows: [string, number, number][] = [];
  const time = async (label: string, job: () => Promise<unknown>) => {
    const start = performance.now();
    const cpuStart = childCpuSeconds();
    await job();
    rows.push([label, (performance.now() - start) / 1000, childCpuSeconds() - cpuStart]);
  };
  try {
    await time(`generateSample ${seconds}s 720p`, () => generateSample({ durationSeconds: seconds, media, outPath: file('master.mkv') }));
    await time('generateLut 33', () => generateLut({ size: 33, outPath: file('look.cube') }));
    const master = await inspectMaster(file('master.mkv'), media);
    await time('splitChunk (2 s chunk)', () => splitChunk(file('master.mkv'), 0, media, sink('av.mkv')));
    await time('demux', () => demux(src('av.mkv'), { picture: sink('pic.mkv'), sound: sink('snd.mkv') }));
    await time('pictureFx', () => pictureFx(src('pic.mkv'), sink('fx.mkv'), media));
    await time('soundFx', () => soundFx(src('snd.mkv'), sink('sfx.mkv'), media));
    await time('grade', () => grade(src('fx.mkv'), sink('graded.mkv'), { lutPath: file('look.cube') }));
    await time('hdr10', () => hdr10(src('graded.mkv'), sink('hdr.mkv'), media));
    await time('masterLoudness', () => masterLoudness(src('sfx.mkv'), sink('mastered.mkv'), media));
    await time('assemble (1 chunk)', () => assemble({ pictures: [src('hdr.mkv')], sounds: [src('mastered.mkv')] }, file('film.mkv'), media));
    await time('probe (piped chunk)', () => probe(src('hdr.mkv')));
    await time('measureLoudness', () => measureLoudness(file('film.mkv')));
    console.log(`master: ${master.durationSeconds}s, ${master.chunkCount} chunks; threads per job: ${process.env.REELMESH_MEDIA_THREADS ?? 'default'}`);
    console.log(`${'job'.padEnd(32)} wall     ffmpeg CPU (user+sys)`);
    for (const [label, secs, cpu] of rows) console.log(`${label.padEnd(32)} ${secs.toFixed(2)} s   ${cpu.toFixed(2)} s`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU time of reaped child processes (ffmpeg, ffprobe), from /proc/self/stat (Linux, 100 Hz ticks). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime
}

await main();
