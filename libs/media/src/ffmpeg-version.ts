import { execFile } from 'node:child_process';
import { ffmpegPath, knownFfmpegVersionLine } from './binaries';
import { MediaError } from './errors';

export interface FfmpegVersion {
  major: number;
  minor: number;
  /** The version word as ffmpeg printed it (e.g. '5.1.9-0+deb12u1', 'N-47683-g0e8eb07980-static'). */
  raw: string;
}

// One probe per binary path; a failed probe is not cached (the binary may appear later).
const cache = new Map<string, Promise<FfmpegVersion>>();

/** Version of the ffmpeg binary at `path` (default: the one jobs run), so jobs can pick the fast
 * filter variant for that build. Cached per path. */
export function ffmpegVersion(path: string = ffmpegPath()): Promise<FfmpegVersion> {
  let version = cache.get(path);
  if (!version) {
    const known = knownFfmpegVersionLine(path);
    version = known === undefined ? readVersion(path) : Promise.resolve(parseFfmpegVersion(known));
    cache.set(path, version);
    version.catch(() => cache.delete(path));
  }
  return version;
}

/** True when `version` is at least major.minor. */
export function versionAtLeast(version: FfmpegVersion, major: number, minor = 0): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

function readVersion(path: string): Promise<FfmpegVersion> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000, windowsHide: true }, (err, stdout) => {
      if (err) return reject(new MediaError('MEDIA_JOB_FAILED', `cannot run ffmpeg at ${path} (set FFMPEG_PATH): ${err.message}`, { cause: err }));
      resolve(parseFfmpegVersion(stdout));
    });
  });
}

/** Parses the first line of `ffmpeg -version`. Release builds say 'ffmpeg version 5.1.9-...';
 * git snapshots say 'N-<commit count>-g<hash>' and carry no number. The only snapshot we ship
 * (@ffmpeg-installer's 2018 static build, N-47683) sits between 4.1 and 4.2, so snapshots count
 * as 4.1: the conservative choice, since the fast variants are only picked from 5 on. */
export function parseFfmpegVersion(output: string): FfmpegVersion {
  const raw = /ffmpeg version (\S+)/.exec(output)?.[1] ?? 'unknown';
  const release = /^n?(\d+)\.(\d+)/.exec(raw);
  if (release) return { major: Number(release[1]), minor: Number(release[2]), raw };
  return { major: 4, minor: 1, raw }; // git snapshot or unrecognised
}
