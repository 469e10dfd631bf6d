import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

/** Where each binary comes from, for logs and the bench: `env` (FFMPEG_PATH/FFPROBE_PATH),
 * `path` (a current build found on PATH), or `bundled` (the npm installer's static build). */
export type BinarySource = 'env' | 'path' | 'bundled';

/** The oldest release found on PATH that we take over the bundled build (2018, between 4.1 and 4.2). */
export const MIN_SYSTEM_FFMPEG_MAJOR = 5;

// Read at call time, not import time, so a process (or test) can point at another build.
// The order: FFMPEG_PATH/FFPROBE_PATH; else ffmpeg AND ffprobe on PATH when both are release 5 or
// newer (faster, and filters that keep 10 bits); else the bundled build. REELMESH_FFMPEG=bundled
// forces the bundled pair (the fresh-machine default, kept under test).
export function ffmpegPath(): string {
  return process.env.FFMPEG_PATH || chosenPair().ffmpeg;
}

export function ffprobePath(): string {
  return process.env.FFPROBE_PATH || chosenPair().ffprobe;
}

/** Where the ffmpeg that jobs run comes from. */
export function ffmpegSource(): BinarySource {
  return process.env.FFMPEG_PATH ? 'env' : chosenPair().source;
}

interface Pair {
  ffmpeg: string;
  ffprobe: string;
  source: Exclude<BinarySource, 'env'>;
  /** The first line of `ffmpeg -version`, when choosing read it (a pair found on PATH). */
  ffmpegVersionLine?: string;
}

const pairs = new Map<string, Pair>();

/**
 * The pair a parent process chose, handed to the processes it starts: choosing means running
 * ffmpeg and ffprobe once each (synchronously), which every agent did again at every start. The
 * pair carries ffmpeg's version line too: an agent logs it before it is ready, and running ffmpeg
 * for it cost each agent's start a process of its own (0.1-0.2 CPU-s with Debian's build).
 */
export const MEDIA_TOOLS_ENV = 'REELMESH_MEDIA_TOOLS';

/** The environment that lets a child take this process's choice of ffmpeg as it is. */
export function mediaToolsEnv(): Record<string, string> {
  return process.env.FFMPEG_PATH ? {} : { [MEDIA_TOOLS_ENV]: JSON.stringify(chosenPair()) };
}

/** What the choice depends on: a change in any of these makes a new choice. */
function pairKey(): string {
  return `${process.env.REELMESH_FFMPEG ?? ''}|${process.env.PATH ?? ''}|${process.env[MEDIA_TOOLS_ENV] ?? ''}`;
}

function chosenPair(): Pair {
  const key = pairKey();
  let pair = pairs.get(key);
  if (!pair) {
    const forced = process.env.REELMESH_FFMPEG === 'bundled';
    const handed = handedPair();
    pair = forced ? bundled() : handed?.source === 'path' ? handed : (systemPair() ?? bundled());
    pairs.set(key, pair);
  }
  return pair;
}

/** The parent's choice, if it is one: a system pair whose two binaries are still there. */
function handedPair(): Pair | undefined {
  const text = process.env[MEDIA_TOOLS_ENV];
  if (!text) return undefined;
  try {
    const pair = JSON.parse(text) as Partial<Pair>;
    if (pair.source !== 'path' || typeof pair.ffmpeg !== 'string' || typeof pair.ffprobe !== 'string') return undefined;
    accessSync(pair.ffmpeg, constants.X_OK);
    accessSync(pair.ffprobe, constants.X_OK);
    const versionLine = typeof pair.ffmpegVersionLine === 'string' ? { ffmpegVersionLine: pair.ffmpegVersionLine } : {};
    return { ffmpeg: pair.ffmpeg, ffprobe: pair.ffprobe, source: 'path', ...versionLine };
  } catch {
    return undefined;
  }
}

function bundled(): Pair {
  return { ffmpeg: ffmpegInstaller.path, ffprobe: ffprobeInstaller.path, source: 'bundled' };
}

/** ffmpeg and ffprobe from PATH when both run and are release >= MIN_SYSTEM_FFMPEG_MAJOR. */
function systemPair(): Pair | undefined {
  const ffmpeg = onPath('ffmpeg');
  const ffprobe = onPath('ffprobe');
  if (!ffmpeg || !ffprobe) return undefined;
  const versionOf = (tool: string) => {
    try {
      return execFileSync(tool, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return undefined;
    }
  };
  const ok = (out: string | undefined) => {
    const major = out === undefined ? undefined : releaseMajor(out);
    return major !== undefined && major >= MIN_SYSTEM_FFMPEG_MAJOR;
  };
  const ffmpegOut = versionOf(ffmpeg);
  if (!ok(ffmpegOut) || !ok(versionOf(ffprobe))) return undefined;
  return { ffmpeg, ffprobe, source: 'path', ffmpegVersionLine: ffmpegOut!.split('\n')[0] };
}

/** The first line of `ffmpeg -version` for `path` when the choice of the pair read it already. */
export function knownFfmpegVersionLine(path: string): string | undefined {
  if (process.env.FFMPEG_PATH) return undefined;
  // Only a choice already made (or handed over): asking must not make one, which probes PATH.
  const pair = pairs.get(pairKey()) ?? (process.env.REELMESH_FFMPEG === 'bundled' ? undefined : handedPair());
  return pair?.ffmpeg === path ? pair.ffmpegVersionLine : undefined;
}

/** Absolute path of an executable found on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Major version of a release build from `-version` output ('ffmpeg version 5.1.9-0+deb12u1'); git
 * snapshots ('N-47683-g…') carry no number and count as unknown. */
export function releaseMajor(versionOutput: string): number | undefined {
  const word = /(?:ffmpeg|ffprobe) version (\S+)/.exec(versionOutput)?.[1] ?? '';
  const match = /^n?(\d+)\.\d+/.exec(word);
  return match ? Number(match[1]) : undefined;
}

/** Threads per ffmpeg job. Several agents share a small machine, so default to at most 2;
 * REELMESH_MEDIA_THREADS overrides (0 = let ffmpeg decide). */
export function ffmpegThreads(): number {
  const fromEnv = Number.parseInt(process.env.REELMESH_MEDIA_THREADS ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv >= 0) return fromEnv;
  return Math.max(1, Math.min(2, availableParallelism()));
}
