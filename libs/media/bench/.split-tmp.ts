import { createWriteStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { generateSample, inspectMaster, splitChunk, ffprobePath } from '../src/index';
const media = { chunkSeconds: 2, resolution: { width: 1280, height: 720 }, frameRate: 25, audio: { sampleRate: 48000, channels: 2 } };
const p = '/tmp/mxh/gen-master.mkv';
await generateSample({ durationSeconds: 5, media, outPath: p });
const m = await inspectMaster(p, media);
for (const copy of [false, true]) for (const i of [0, 1, 2]) {
  const o = `/tmp/mxh/split-${copy}-${i}.mkv`;
  const t = performance.now();
  await splitChunk(p, i, media, createWriteStream(o), { videoCopyable: copy && m.videoCopyable });
  const frames = execFileSync(ffprobePath(), ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames,profile,color_primaries', '-of', 'csv=p=0', o], { encoding: 'utf8' }).trim().replace(/\n/g, ' | ');
  const samples = execFileSync('sh', ['-c', `${ffprobePath().replace('ffprobe','ffmpeg')} -v error -i ${o} -map 0:a -f s16le - | wc -c`], { encoding: 'utf8' }).trim();
  const md5 = execFileSync('sh', ['-c', `${ffprobePath().replace('ffprobe','ffmpeg')} -v error -i ${o} -map 0:v -f framemd5 - | grep -v '^#' | awk -F, '{print $6}' | md5sum | cut -c1-8`], { encoding: 'utf8' }).trim();
  console.log(copy, i, (performance.now() - t).toFixed(0), 'ms', frames, 'samples', Number(samples) / 4, 'vmd5', md5);
}
// frames of the master at 50..99 -> md5
