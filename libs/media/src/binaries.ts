import { availableParallelism } from 'node:os';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

// Read at call time, not import time, so a process (or test) can point at another build.
export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || ffmpegInstaller.path;
}

export function ffprobePath(): string {
  return process.env.FFPROBE_PATH || ffprobeInstaller.path;
}

/** Threads per ffmpeg job. Several agents share a small machine, so default to at most 2;
 * REELMESH_MEDIA_THREADS overrides (0 = let ffmpeg decide). */
export function ffmpegThreads(): number {
  const fromEnv = Number.parseInt(process.env.REELMESH_MEDIA_THREADS ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv >= 0) return fromEnv;
  return Math.max(1, Math.min(2, availableParallelism()));
}
