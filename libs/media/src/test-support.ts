// Helpers for this library's specs only (not exported from index.ts).
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateLut } from './generate-lut';
import { runJobsInProcess } from './in-process';
import type { MediaSettings, Source } from './settings';

export const WORKFLOW_MEDIA: MediaSettings = {
  chunkSeconds: 2,
  intermediate: { picture: 'x264-lossless', sound: 'pcm_s24le' },
  delivery: { x265: { preset: 'ultrafast', crf: 20 } },
  loudness: { integratedLufs: -23, truePeakDbtp: -1 },
  lut: { ref: 'assets/color/film-look.cube', size: 33 },
  hdr: { masterDisplay: 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)', maxCll: '1000,400' },
};

/** A master in `s` taken through every job in this process (chunk files land in `s`). */
export async function runPipeline(s: Scratch, master: string, out: string, media: MediaSettings = WORKFLOW_MEDIA) {
  await generateLut({ size: 17, outPath: s.path('look.cube') });
  return runJobsInProcess({ masterPath: s.path(master), dir: s.dir, media, lutPath: s.path('look.cube'), out });
}

export interface Scratch {
  dir: string;
  path(name: string): string;
  source(name: string): Source;
  sink(name: string): ReturnType<typeof createWriteStream>;
  dispose(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-media-spec-'));
  const path = (name: string) => join(dir, name);
  return {
    dir,
    path,
    source: (name) => () => createReadStream(path(name)),
    sink: (name) => createWriteStream(path(name)),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** ffmpeg/ffprobe processes that are children of this (test) process. */
export function childMediaProcesses(): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    out = ''; // ps exits 1 when there are no children at all
  }
  return out
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /ffmpeg|ffprobe/.test(line));
}
