import { parseRational, type Rational } from './format';
import { MediaError } from './errors';
import { runFfprobe, type ProbeInput } from './run-ffprobe';

export interface StreamInfo {
  index: number;
  type: 'video' | 'audio' | 'subtitle' | 'data' | 'other';
  codec: string;
  width?: number;
  height?: number;
  pixFmt?: string;
  profile?: string;
  colorPrimaries?: string;
  colorTransfer?: string;
  colorSpace?: string;
  colorRange?: string;
  /** e.g. '1:1'; absent when the container and stream do not say. */
  sampleAspectRatio?: string;
  frameRate?: number;
  /** r_frame_rate as an exact fraction, and avg_frame_rate (they differ for variable-rate streams). */
  frameRateExact?: Rational;
  avgFrameRate?: Rational;
  /** 'progressive', 'tt', 'bb', 'tb', 'bt' or absent when unknown. */
  fieldOrder?: string;
  sampleRate?: number;
  channels?: number;
  channelLayout?: string;
  /** End of the stream's last packet, when it had to be measured (piped Matroska has no duration). */
  durationSeconds?: number;
}

export interface MediaInfo {
  durationSeconds: number;
  formatName: string;
  streams: StreamInfo[];
}

interface RawStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  profile?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_space?: string;
  color_range?: string;
  sample_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  field_order?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  duration?: string;
  tags?: Record<string, string>;
}

/** ffprobe JSON of a file or a streamed Source. Matroska written to a pipe carries no duration;
 * then the packets are scanned (re-opening the Source) to find where the streams end. */
export async function probe(input: ProbeInput): Promise<MediaInfo> {
  let json = '';
  await runFfprobe('probe', ['-of', 'json', '-show_format', '-show_streams'], input, (line) => {
    json += line + '\n';
  });
  const raw = JSON.parse(json) as { format?: { format_name?: string; duration?: string }; streams?: RawStream[] };
  const streams = (raw.streams ?? []).map(toStreamInfo);
  let durationSeconds = parseNumber(raw.format?.duration);
  if (durationSeconds === undefined || writtenToPipe(raw)) {
    const ends = await packetEnds(input);
    for (const stream of streams) stream.durationSeconds = ends.get(stream.index);
    durationSeconds = Math.max(0, ...ends.values());
  }
  return { durationSeconds, formatName: raw.format?.format_name ?? 'unknown', streams };
}

/** Matroska muxed to a pipe has no per-stream DURATION tags, and its header duration (if any)
 * is only the requested -t, not what was written: measure instead. */
function writtenToPipe(raw: { format?: { format_name?: string }; streams?: RawStream[] }): boolean {
  if (!raw.format?.format_name?.includes('matroska')) return false;
  return !(raw.streams ?? []).some((stream) => stream.tags?.DURATION !== undefined);
}

/** Side data types carried by the first video frame (e.g. 'Mastering display metadata'). */
export async function probeFrameSideData(input: ProbeInput): Promise<string[]> {
  const types: string[] = [];
  const args = ['-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_frames', '-show_entries', 'frame_side_data=side_data_type', '-of', 'csv=p=0'];
  await runFfprobe('probe-side-data', args, input, (line) => {
    for (const value of line.split(',')) if (value.trim()) types.push(value.trim());
  });
  return types;
}

async function packetEnds(input: ProbeInput): Promise<Map<number, number>> {
  const ends = new Map<number, number>();
  const args = ['-show_entries', 'packet=stream_index,pts_time,duration_time', '-of', 'csv=p=0'];
  await runFfprobe('probe-packets', args, input, (line) => {
    const [index, pts, duration] = line.split(',').map(Number);
    if (!Number.isFinite(index) || !Number.isFinite(pts)) return;
    const end = pts + (Number.isFinite(duration) ? duration : 0);
    ends.set(index, Math.max(ends.get(index) ?? 0, end));
  });
  return ends;
}

function toStreamInfo(raw: RawStream): StreamInfo {
  const type = raw.codec_type === 'video' || raw.codec_type === 'audio' || raw.codec_type === 'subtitle' || raw.codec_type === 'data' ? raw.codec_type : 'other';
  return dropUndefined({
    index: raw.index,
    type,
    codec: raw.codec_name ?? 'unknown',
    width: raw.width,
    height: raw.height,
    pixFmt: raw.pix_fmt,
    profile: raw.profile,
    colorPrimaries: raw.color_primaries,
    colorTransfer: raw.color_transfer,
    colorSpace: raw.color_space,
    colorRange: raw.color_range,
    sampleAspectRatio: raw.sample_aspect_ratio,
    frameRate: type === 'video' ? parseRate(raw.r_frame_rate) : undefined,
    frameRateExact: type === 'video' ? parseRational(raw.r_frame_rate) : undefined,
    avgFrameRate: type === 'video' ? parseRational(raw.avg_frame_rate) : undefined,
    fieldOrder: raw.field_order,
    sampleRate: parseNumber(raw.sample_rate),
    channels: raw.channels,
    channelLayout: raw.channel_layout,
    durationSeconds: parseNumber(raw.duration) ?? parseClock(raw.tags?.DURATION),
  });
}

/** Matroska's per-stream DURATION tag, "00:00:07.300000000". */
function parseClock(value: string | undefined): number | undefined {
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value ?? '');
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : undefined;
}

function parseNumber(value: string | undefined): number | undefined {
  if (value === undefined || value === 'N/A') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function parseRate(value: string | undefined): number | undefined {
  const rate = parseRational(value);
  return rate ? rate.num / rate.den : undefined;
}


function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The first picture stream of a chunk, read from its header only (no packet scan): jobs keep the
 * pixel format they receive. */
export async function pictureStreamOf(input: ProbeInput, job: string): Promise<StreamInfo & { pixFmt: string }> {
  const stream = await firstStream(input, 'v', job);
  if (!stream.pixFmt) throw new MediaError('MEDIA_UNREADABLE', `${job}: input picture has no pixel format`);
  return stream as StreamInfo & { pixFmt: string };
}

/** The one stream of an intermediate (a picture or a sound chunk); refuses anything else. */
export async function onlyStreamOf(input: ProbeInput, job: string): Promise<StreamInfo> {
  let json = '';
  await runFfprobe(`${job} probe`, ['-show_streams', '-of', 'json'], input, (line) => {
    json += line + '\n';
  });
  const raw = (JSON.parse(json) as { streams?: RawStream[] }).streams ?? [];
  if (raw.length !== 1) throw new MediaError('MEDIA_UNSUPPORTED_FORMAT', `${job}: a filter job takes one picture or one sound stream, got ${raw.length} streams`);
  return toStreamInfo(raw[0]);
}

async function firstStream(input: ProbeInput, kind: 'v', job: string): Promise<StreamInfo> {
  let json = '';
  await runFfprobe(`${job} probe`, ['-select_streams', `${kind}:0`, '-show_streams', '-of', 'json'], input, (line) => {
    json += line + '\n';
  });
  const raw = (JSON.parse(json) as { streams?: RawStream[] }).streams?.[0];
  if (!raw) throw new MediaError('MEDIA_UNREADABLE', `${job}: input has no picture stream`);
  return toStreamInfo(raw);
}
