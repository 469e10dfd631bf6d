import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Writable } from 'node:stream';
import { outputArgs } from './codec-args';
import { MediaError } from './errors';
import {
  CHANNEL_LAYOUTS,
  bitDepthOf,
  chunkCountFor,
  chunkFramesFor,
  mezzaninePixelFormat,
  parseRational,
  rateString,
  type PictureFormat,
  type ProgrammeFormat,
  type Rational,
  type SoundFormat,
} from './format';
import { probe, type MediaInfo, type StreamInfo } from './probe';
import { runFfmpeg } from './run-ffmpeg';
import { runFfprobe } from './run-ffprobe';
import type { MediaSettings } from './settings';

export interface MasterInfo {
  path: string;
  durationSeconds: number;
  /** The programme the workflow carries: the master's own format, or the conform's (reported). */
  format: ProgrammeFormat;
  chunkCount: number;
  hasAudio: boolean;
  info: MediaInfo;
}

export interface InspectOptions {
  /** The workflow has sound steps: a master without sound is refused. */
  requireSound?: boolean;
  /** Decode the whole master once to find damage before any work (default true). */
  decodeCheck?: boolean;
  signal?: AbortSignal;
}

/** Sound layouts the chain keeps as they are (adelay in the effects handles up to 8 channels). */
const MAX_CHANNELS = 8;

/**
 * Everything the workflow must know about a master before any work, and every reason to refuse it,
 * each as one line naming the stream: not a file, not media, no picture, no sound (when the
 * workflow has sound steps), a variable frame rate, interlaced without a declared deinterlace,
 * deeper than the mezzanine carries, already HDR, or damaged (a gap in the frames or a decoding
 * error, with its time). Costs one packet scan and, by default, one full decode.
 */
export async function inspectMaster(
  path: string,
  media: Pick<MediaSettings, 'chunkSeconds' | 'intermediate' | 'delivery' | 'deinterlace'>,
  options: InspectOptions = {},
): Promise<MasterInfo> {
  const name = basename(path);
  const size = await stat(path).then(
    (s) => (s.isFile() ? s.size : -1),
    () => undefined,
  );
  if (size === undefined) throw new MediaError('MEDIA_NOT_FOUND', `master not found: ${path}`);
  if (size < 0) throw new MediaError('MEDIA_UNREADABLE', `master is not a regular file: ${path}`);
  if (size === 0) throw new MediaError('MEDIA_EMPTY', `master is an empty file: ${path}`);

  const info = await probe(path);
  const video = info.streams.find((s) => s.type === 'video');
  if (!video) throw new MediaError('MEDIA_NO_VIDEO', `${name}: no video stream (the workflow needs a picture)`);
  const audio = info.streams.find((s) => s.type === 'audio');
  if (!audio && options.requireSound) {
    throw new MediaError('MEDIA_NO_AUDIO', `${name}: no audio stream (the workflow has sound steps)`);
  }
  const picture = pictureFormat(name, video, media);
  const sound = audio ? soundFormat(name, audio) : undefined;

  const scan = await scanVideoPackets(path, video, picture.frameRate);
  if (scan.frames === 0) throw new MediaError('MEDIA_UNREADABLE', `${name}: video stream #${video.index}: no frames`);
  if (scan.gap) {
    const { from, to } = scan.gap;
    throw new MediaError('MEDIA_DAMAGED', `${name}: video stream #${video.index}: damaged at ${timecode(from)}: no frames from ${timecode(from)} to ${timecode(to)}`);
  }
  if (scan.irregular) {
    const { min, max } = scan.irregular;
    throw new MediaError(
      'MEDIA_UNSUPPORTED_FORMAT',
      `${name}: video stream #${video.index}: variable frame rate (frame durations from ${min.toFixed(4)} s to ${max.toFixed(4)} s); the workflow needs a constant frame rate`,
    );
  }
  // Sound that stops a chunk or more before the picture would leave chunks without sound.
  const seconds = (frames: number) => (frames * picture.frameRate.den) / picture.frameRate.num;
  const perChunk = chunkFramesFor(media.chunkSeconds, picture.frameRate);
  const pictureEnd = seconds(scan.frames);
  const lastChunkStart = seconds(Math.floor((scan.frames - 1) / perChunk) * perChunk);
  if (audio && audio.durationSeconds !== undefined && audio.durationSeconds <= lastChunkStart) {
    throw new MediaError(
      'MEDIA_UNSUPPORTED_FORMAT',
      `${name}: audio stream #${audio.index}: ends at ${timecode(audio.durationSeconds)}, ${(pictureEnd - audio.durationSeconds).toFixed(3)} s before the picture; the workflow needs sound for the whole programme`,
    );
  }
  if (options.decodeCheck !== false) await decodeCheck(path, name, info, options.signal);

  const conform = media.delivery.conform;
  const deliveryRate = (conform?.frameRate && parseRational(conform.frameRate)) || picture.frameRate;
  const programmePicture: PictureFormat = { ...picture, ...(conform?.resolution ?? {}), frameRate: deliveryRate };
  const programmeSound: SoundFormat | undefined =
    sound && conform?.audio
      ? {
          sampleRate: conform.audio.sampleRate ?? sound.sampleRate,
          channels: conform.audio.channels ?? sound.channels,
          channelLayout: conform.audio.channels ? CHANNEL_LAYOUTS[conform.audio.channels] : sound.channelLayout,
        }
      : sound;
  // A frame-rate conform keeps the programme's length: the delivery has as many frames as fit it.
  const frames = Math.round((scan.frames * deliveryRate.num * picture.frameRate.den) / (deliveryRate.den * picture.frameRate.num));
  const chunkFrames = chunkFramesFor(media.chunkSeconds, deliveryRate);
  const chunkCount = chunkCountFor(frames, chunkFrames);
  const format: ProgrammeFormat = {
    picture: programmePicture,
    ...(programmeSound ? { sound: programmeSound } : {}),
    master: { picture, ...(sound ? { sound } : {}) },
    frames,
    chunkFrames,
    chunkCount,
    ...(conform ? { conform } : {}),
  };
  return { path, durationSeconds: info.durationSeconds, format, chunkCount, hasAudio: Boolean(audio), info };
}



function pictureFormat(name: string, video: StreamInfo, media: Pick<MediaSettings, 'intermediate' | 'deinterlace'>): PictureFormat {
  const where = `${name}: video stream #${video.index}`;
  const rate = video.frameRateExact;
  if (!rate || !video.width || !video.height || !video.pixFmt) {
    throw new MediaError('MEDIA_UNREADABLE', `${where}: no frame rate, size or pixel format could be read`);
  }
  const avg = video.avgFrameRate;
  if (avg && Math.abs(avg.num / avg.den - rate.num / rate.den) > 0.01 * (rate.num / rate.den)) {
    throw new MediaError(
      'MEDIA_UNSUPPORTED_FORMAT',
      `${where}: variable frame rate (${rateString(rate)} nominal, ${rateString(avg)} on average); the workflow needs a constant frame rate`,
    );
  }
  const interlaced = video.fieldOrder !== undefined && ['tt', 'bb', 'tb', 'bt'].includes(video.fieldOrder);
  if (interlaced && !media.deinterlace) {
    throw new MediaError(
      'MEDIA_UNSUPPORTED_FORMAT',
      `${where}: interlaced (field order ${video.fieldOrder}) and the workflow declares no deinterlace (media.deinterlace: bwdif or yadif)`,
    );
  }
  if (video.colorTransfer === 'smpte2084' || video.colorTransfer === 'arib-std-b67') {
    throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `${where}: already HDR (transfer ${video.colorTransfer}); the workflow masters HDR10 from an SDR BT.709 picture`);
  }
  const depth = bitDepthOf(video.pixFmt);
  if (depth > 10) {
    throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `${where}: ${depth}-bit picture (${video.pixFmt}); the ${media.intermediate.picture} intermediate carries 10 bits and would lose the rest`);
  }
  const mezzaninePixFmt = mezzaninePixelFormat(video.pixFmt);
  if (!mezzaninePixFmt) throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `${where}: pixel format ${video.pixFmt} is not one the workflow can carry`);
  return { width: video.width, height: video.height, frameRate: rate, pixFmt: video.pixFmt, mezzaninePixFmt, interlaced };
}

function soundFormat(name: string, audio: StreamInfo): SoundFormat {
  const where = `${name}: audio stream #${audio.index}`;
  if (!audio.sampleRate || !audio.channels) throw new MediaError('MEDIA_UNREADABLE', `${where}: no sample rate or channel count could be read`);
  if (audio.channels > MAX_CHANNELS) throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `${where}: ${audio.channels} channels (at most ${MAX_CHANNELS})`);
  return { sampleRate: audio.sampleRate, channels: audio.channels, channelLayout: audio.channelLayout ?? CHANNEL_LAYOUTS[audio.channels] ?? `${audio.channels}c` };
}

interface PacketScan {
  frames: number;
  /** The first hole in the frame grid, when it is the only kind of irregularity (damage). */
  gap?: { from: number; to: number };
  /** Frame durations that vary (shorter than a frame, or many holes): a variable frame rate. */
  irregular?: { min: number; max: number };
}

/** One pass over the video packets (timestamps only, no decoding): counts frames and checks that
 * they sit on the frame grid with none missing. Packets come in decode order, so presentation
 * times go through a small reorder window (B-frames); memory stays constant. */
async function scanVideoPackets(path: string, video: StreamInfo, rate: Rational): Promise<PacketScan> {
  const frame = rate.den / rate.num;
  const window: number[] = [];
  const scan: PacketScan = { frames: 0 };
  let previous: number | undefined;
  let min = Infinity;
  let max = 0;
  let gaps = 0;
  const take = (pts: number) => {
    if (previous !== undefined) {
      const step = pts - previous;
      if (step > 1.5 * frame && gaps++ === 0) scan.gap = { from: previous + frame, to: pts };
      min = Math.min(min, step);
      max = Math.max(max, step);
    }
    previous = pts;
  };
  const args = ['-select_streams', `${video.index}`, '-show_entries', 'packet=pts_time', '-of', 'csv=p=0'];
  await runFfprobe('inspect packets', args, path, (line) => {
    const pts = Number(line.split(',')[0]);
    if (!Number.isFinite(pts)) return;
    scan.frames++;
    window.push(pts);
    if (window.length > REORDER_WINDOW) {
      window.sort((a, b) => a - b);
      take(window.shift() as number);
    }
  });
  window.sort((a, b) => a - b).forEach(take);
  // Timestamps are rounded by the container (1 ms in Matroska): a quarter frame of slack. One hole
  // in an otherwise regular grid is damage; frames closer than a frame, or holes all along, are a
  // variable frame rate.
  if (scan.frames > 1 && (min < 0.75 * frame || gaps > MAX_HOLES || (gaps === 0 && max > 1.25 * frame))) {
    scan.irregular = { min, max };
    delete scan.gap;
  }
  return scan;
}

const REORDER_WINDOW = 32;
const MAX_HOLES = 2;

/** Decodes the picture and the first sound once, stopping at the first error; the last frame
 * decoded before it names the time. Container damage that loses no packet, and bitstream errors,
 * show only here. */
async function decodeCheck(path: string, name: string, info: MediaInfo, signal?: AbortSignal): Promise<void> {
  const video = info.streams.find((s) => s.type === 'video') as StreamInfo;
  const audio = info.streams.find((s) => s.type === 'audio');
  const mapped = [video, ...(audio ? [audio] : [])];
  const timeBases = new Map<number, number>();
  const last = new Map<number, number>();
  let pending = '';
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = pending + chunk.toString('latin1');
      const rows = text.split('\n');
      pending = rows.pop() ?? '';
      for (const row of rows) {
        const tb = /^#tb (\d+): (\d+)\/(\d+)/.exec(row);
        if (tb) timeBases.set(Number(tb[1]), Number(tb[2]) / Number(tb[3]));
        else if (!row.startsWith('#')) {
          const [stream, , pts] = row.split(',').map((v) => Number(v.trim()));
          if (Number.isFinite(pts)) last.set(stream, pts * (timeBases.get(stream) ?? 0));
        }
      }
      done();
    },
  });
  try {
    const stderr = await runFfmpeg({
      name: 'inspect decode',
      output: lines,
      signal,
      build: (command) => {
        command.input(path).inputOptions('-xerror', '-err_detect', 'crccheck+bitstream+buffer+explode');
        outputArgs(command, [...mapped.flatMap((s) => ['-map', `0:${s.index}`]), '-f', 'framecrc', '-flush_packets', '1']);
      },
    });
    if (stderr.trim()) throw new MediaError('MEDIA_JOB_FAILED', stderr);
  } catch (error) {
    const err = error as MediaError;
    if (err.code === 'MEDIA_ABORTED') throw err;
    const detail = err.message
      .replace(/^inspect decode: /, '')
      .replace(/^ffmpeg exited with code \d+ \((.*)\)$/s, '$1')
      .split(`${path}: `)
      .join('');
    // ffmpeg names an output stream ("corrupt decoded frame in stream 0") or an input one ("stream #0:1").
    const output = /in stream (\d+)/.exec(detail)?.[1];
    const input = /stream #0:(\d+)/.exec(detail)?.[1];
    const culprit =
      (output !== undefined ? mapped[Number(output)] : input !== undefined ? info.streams.find((s) => s.index === Number(input)) : undefined) ?? video;
    const at = Math.max(0, ...last.values());
    const kind = culprit.type === 'audio' ? 'audio' : 'video';
    throw new MediaError('MEDIA_DAMAGED', `${name}: ${kind} stream #${culprit.index}: damaged at ${timecode(at)}: ${firstLine(detail)}`);
  }
}

function firstLine(text: string): string {
  return (text.split(/\s*\|\s*|\n/).find((line) => line.trim()) ?? 'decoding failed').trim().slice(0, 200);
}

/** hh:mm:ss.mmm */
export function timecode(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}
