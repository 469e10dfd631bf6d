// Filter jobs: a contractor whose work is one ffmpeg filter chain declares it in the workflow file
// (`jobs: - { name, filter }`) and agent-kit runs it here. The chunk goes through the chain and is
// handed on exactly as it came (same pixel format, same codec family), with two refusals a studio
// would make: a chain that drops a 10-bit picture to 8 bits anywhere inside it, and, after HDR
// mastering, a chain that pushes highlights past the declared MaxCLL (docs/contractors.md).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { ffmpegPath } from './binaries';
import { KEEP_FRAMES, MATROSKA_PIPE, mezzanineArgs, outputArgs, pcmIntermediate } from './codec-args';
import { MediaError } from './errors';
import { escapeFilterValue } from './filter-args';
import { x265Args } from './hdr10';
import { onlyStreamOf, type StreamInfo } from './probe';
import { beforeJob, runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

export interface FilterJobOptions {
  /** The ffmpeg filter chain (`-vf` for a picture chunk, `-af` for a sound chunk). */
  filter: string;
  media: Pick<MediaSettings, 'intermediate' | 'hdr' | 'delivery'>;
  /** Job name in errors and in the provenance trace (default "filter"). */
  name?: string;
  signal?: AbortSignal;
}

/** Runs a filter job on one picture or sound chunk and hands it on in the format it came in. */
export async function filterJob(source: Source, out: Writable, options: FilterJobOptions): Promise<void> {
  const name = options.name ?? 'filter';
  const stream = await beforeJob(out, () => onlyStreamOf(source, name));
  if (stream.type === 'audio') {
    await filterSound(source, out, options, name);
    return;
  }
  if (stream.type !== 'video' || !stream.pixFmt) {
    const error = new MediaError('MEDIA_UNSUPPORTED_FORMAT', `${name}: a filter job takes one picture or one sound stream, got ${stream.type}`);
    out.destroy(error);
    throw error;
  }
  const pixFmt = stream.pixFmt;
  await beforeJob(out, () => assertKeepsBitDepth(options.filter, stream, name));
  if (!isPq(stream)) {
    await filterPicture(source, out, options, name, pixFmt, mezzanineArgs(options.media.intermediate.picture));
    return;
  }
  // After HDR mastering: re-encoded as HDR10 with the workflow's own parameters, and the peak measured.
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-filter-'));
  try {
    const stats = join(dir, 'peak.txt');
    const measure = `signalstats,metadata=mode=print:key=lavfi.signalstats.YMAX:file=${escapeFilterValue(stats)}`;
    await filterPicture(source, out, options, name, pixFmt, x265Args(options.media), measure, { [stats]: 'peak.txt' });
    const peak = pqNits(maxOf(await readFile(stats, 'utf8')), depthOfName(pixFmt) ?? 10);
    const maxCll = Number(options.media.hdr.maxCll.split(',')[0]);
    // 1 % for rounding through the 10-bit code values; MaxCLL is checked on luma, a lower bound of max(R,G,B).
    if (peak > maxCll * 1.01) {
      throw new MediaError(
        'MEDIA_HDR_PEAK_EXCEEDED',
        `${name}: the filter pushes highlights to ${Math.round(peak)} nits, past the workflow's declared MaxCLL of ${maxCll} nits (media.hdr.maxCll); keep graphics within the mastered range (docs/contractors.md)`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function filterPicture(
  source: Source,
  out: Writable,
  options: FilterJobOptions,
  name: string,
  pixFmt: string,
  codec: string[],
  measure?: string,
  pathAliases?: Record<string, string>,
): Promise<string> {
  // The chain ends in the picture's own format: a filter that works in another one is brought back.
  const graph = [options.filter, `format=${pixFmt}`, ...(measure ? [measure] : [])].join(',');
  return runFfmpeg({
    name,
    source,
    output: out,
    signal: options.signal,
    pathAliases,
    build: (command) => outputArgs(command, ['-map', '0:v:0', '-vf', graph, ...codec, ...KEEP_FRAMES, ...MATROSKA_PIPE]),
  });
}

function filterSound(source: Source, out: Writable, options: FilterJobOptions, name: string): Promise<string> {
  return runFfmpeg({
    name,
    source,
    output: out,
    signal: options.signal,
    build: (command) => outputArgs(command, ['-map', '0:a:0', '-af', options.filter, ...pcmIntermediate(options.media), ...MATROSKA_PIPE]),
  });
}

/** PQ-coded (HDR10) picture: the hdr step's output. */
function isPq(stream: StreamInfo): boolean {
  return stream.colorTransfer === 'smpte2084';
}

const checkedChains = new Map<string, Promise<void>>();

/**
 * Refuses a chain that converts the picture, anywhere inside it, to a format of fewer bits than it
 * came in (ffmpeg does this silently: a filter that only handles 8-bit formats gets an automatic
 * conversion in front of it). Found by building the chain once on one frame of the input's own
 * size and format and reading the conversions ffmpeg inserts; cached per chain and format.
 */
export function assertKeepsBitDepth(filter: string, stream: Pick<StreamInfo, 'pixFmt' | 'width' | 'height'>, name = 'filter'): Promise<void> {
  const pixFmt = stream.pixFmt as string;
  const size = `${stream.width ?? 1280}x${stream.height ?? 720}`;
  const key = `${pixFmt} ${size} ${filter}`;
  let checked = checkedChains.get(key);
  if (!checked) {
    checked = checkBitDepth(filter, pixFmt, size, name);
    checkedChains.set(key, checked);
    checked.catch(() => checkedChains.delete(key));
  }
  return checked;
}

async function checkBitDepth(filter: string, pixFmt: string, size: string, name: string): Promise<void> {
  const depths = await pixelDepths();
  const depthOf = (fmt: string) => depths.get(fmt) ?? depthOfName(fmt);
  const inputDepth = depthOf(pixFmt);
  if (inputDepth === undefined) return;
  const args = ['-hide_banner', '-nostdin', '-v', 'verbose', '-f', 'lavfi', '-i', `color=c=gray:s=${size}:r=25:d=1,format=${pixFmt}`];
  args.push('-vf', `${filter},format=${pixFmt}`, '-frames:v', '1', '-f', 'null', '-');
  const log = await run(ffmpegPath(), args).catch((error: Error & { stderr?: string }) => {
    const tail = (error.stderr ?? error.message).trim().split('\n').slice(-3).join(' | ');
    throw new MediaError('MEDIA_INVALID_ARGUMENT', `${name}: ffmpeg cannot build the filter chain ${JSON.stringify(filter)}: ${tail}`, { cause: error });
  });
  // "[auto_scale_0 @ 0x…] w:320 h:180 fmt:yuv420p10le sar:1/1 -> w:320 h:180 fmt:yuv420p sar:1/1 flags:0x0"
  for (const match of log.matchAll(/fmt:(\w+)[^\n]*?->[^\n]*?fmt:(\w+)/g)) {
    const to = match[2];
    const depth = depthOf(to);
    if (depth !== undefined && depth < inputDepth) {
      throw new MediaError(
        'MEDIA_BIT_DEPTH_DROPPED',
        `${name}: the filter chain ${JSON.stringify(filter)} converts the ${inputDepth}-bit picture (${pixFmt}) to ${depth}-bit ${to} on the way ` +
          `(a filter in it handles only ${depth}-bit formats in this ffmpeg); use filters that keep ${inputDepth} bits (docs/contractors.md)`,
      );
    }
  }
}

let depthTable: Promise<Map<string, number>> | undefined;

/** Each pixel format's smallest component depth, from `ffmpeg -pix_fmts` (BIT_DEPTHS column, ffmpeg 5+). */
function pixelDepths(): Promise<Map<string, number>> {
  depthTable ??= run(ffmpegPath(), ['-hide_banner', '-pix_fmts'])
    .then((text) => {
      const table = new Map<string, number>();
      for (const line of text.split('\n')) {
        const match = /^[IOHPB.]{5}\s+(\w+)\s+\d+\s+\d+\s+([\d-]+)\s*$/.exec(line);
        if (match) table.set(match[1], Math.min(...match[2].split('-').map(Number)));
      }
      return table;
    })
    .catch(() => new Map<string, number>());
  return depthTable;
}

/** Depth from a pixel format's name when ffmpeg does not list it: yuv420p10le -> 10, rgb48le -> 16, yuv420p -> 8. */
export function depthOfName(fmt: string): number | undefined {
  const bits = /p(\d+)(le|be)?$/.exec(fmt);
  if (bits) return Number(bits[1]);
  if (/^(rgb|bgr)48/.test(fmt) || /64(le|be)$/.test(fmt)) return 16;
  if (/^(yuv|yuvj|gray|nv|rgb|bgr|argb|abgr|rgba|bgra|gbrp|yuva|uyvy|yuyv)/.test(fmt)) return 8;
  return undefined;
}

function maxOf(stats: string): number {
  let max = -1;
  for (const match of stats.matchAll(/lavfi\.signalstats\.YMAX=(\d+)/g)) max = Math.max(max, Number(match[1]));
  if (max < 0) throw new MediaError('MEDIA_JOB_FAILED', 'filter: the peak of the HDR picture was not measured');
  return max;
}

/** Luminance in nits of a limited-range PQ (SMPTE ST 2084) luma code value. */
export function pqNits(code: number, depth: number): number {
  const scale = 2 ** (depth - 8);
  const e = Math.min(1, Math.max(0, (code - 16 * scale) / (219 * scale)));
  const m1 = 2610 / 16384;
  const m2 = (2523 / 4096) * 128;
  const c1 = 3424 / 4096;
  const c2 = (2413 / 4096) * 32;
  const c3 = (2392 / 4096) * 32;
  const p = e ** (1 / m2);
  return 10000 * (Math.max(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1);
}

function run(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (error, stdout, stderr) => {
      if (error) return reject(Object.assign(error, { stderr }));
      resolve(`${stdout}${stderr}`);
    });
  });
}
