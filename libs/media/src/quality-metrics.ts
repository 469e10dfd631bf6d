import { execFile } from 'node:child_process';
import { ffmpegPath, ffprobePath } from './binaries';

// Measurements of finished files, straight from ffprobe and ffmpeg's own filters (count_frames,
// ebur128, psnr, ssim): a path independent of the jobs' probe helpers, for the specs and
// `reelmesh bench --only quality`. Meant for test- and bench-sized files (outputs are buffered).

function run(tool: string, args: string[], maxBuffer = 256 * 1024 * 1024): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { encoding: 'buffer', maxBuffer }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(' ')}: ${stderr.toString().trim().split('\n').slice(-3).join(' | ') || error.message}`));
      else resolve({ stdout, stderr: stderr.toString() });
    });
  });
}

export interface StreamReport {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  start_time?: string;
  duration?: string;
  nb_read_frames?: string;
  color_transfer?: string;
  color_primaries?: string;
  profile?: string;
}

/** ffprobe's view of every stream, frames counted by decoding (count_frames). */
export async function streamsOf(path: string, countFrames = false): Promise<StreamReport[]> {
  const { stdout } = await run(ffprobePath(), ['-v', 'error', ...(countFrames ? ['-count_frames'] : []), '-show_streams', '-of', 'json', path]);
  return (JSON.parse(stdout.toString()) as { streams: StreamReport[] }).streams;
}

/** Decoded picture frames of the first video stream. */
export async function frameCount(path: string): Promise<number> {
  const video = (await streamsOf(path, true)).find((s) => s.codec_type === 'video');
  return Number(video?.nb_read_frames ?? 0);
}

/** The first sound stream decoded to 32-bit float, channel by channel (one array per channel). */
export async function decodeSound(path: string): Promise<Float32Array[]> {
  const sound = (await streamsOf(path)).find((s) => s.codec_type === 'audio');
  const channels = sound?.channels ?? 0;
  if (!channels) return [];
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', path, '-map', '0:a:0', '-f', 'f32le', '-c:a', 'pcm_f32le', '-'], 1 << 30);
  const all = new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4);
  const frames = all.length / channels;
  return Array.from({ length: channels }, (_, c) => {
    const out = new Float32Array(frames);
    for (let i = 0; i < frames; i++) out[i] = all[i * channels + c];
    return out;
  });
}

export interface Loudness {
  integratedLufs: number;
  lraLu: number;
  truePeakDbtp: number;
}

/** EBU R128 of the first sound stream (optionally of one time range), by ffmpeg's ebur128. */
export async function loudnessOf(path: string, range?: { start: number; duration: number }): Promise<Loudness> {
  const trim = range ? `atrim=start=${range.start}:duration=${range.duration},` : '';
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostats', '-i', path, '-map', '0:a:0', '-af', `${trim}ebur128=peak=true`, '-f', 'null', '-']);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const number = (pattern: RegExp) => {
    const value = pattern.exec(summary)?.[1];
    return value === undefined ? Number.NaN : value === '-inf' ? Number.NEGATIVE_INFINITY : Number(value);
  };
  return { integratedLufs: number(/I:\s+(-?[\d.]+|-inf)\s+LUFS/), lraLu: number(/LRA:\s+(-?[\d.]+)\s+LU/), truePeakDbtp: number(/Peak:\s+(-?[\d.]+|-inf)\s+dBFS/) };
}

export interface PictureQuality {
  psnr: { y: number; u: number; v: number };
  ssim: { y: number; u: number; v: number };
}

/** PSNR and SSIM per plane of `distorted` against `reference` (same size and frame count), both
 * decoded at 10 bits. */
export async function pictureQuality(distorted: string, reference: string): Promise<PictureQuality> {
  const graph = '[0:v]format=yuv420p10le,split[d1][d2];[1:v]format=yuv420p10le,split[r1][r2];[d1][r1]psnr;[d2][r2]ssim';
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostats', '-i', distorted, '-i', reference, '-filter_complex', graph, '-f', 'null', '-']);
  const value = (pattern: RegExp) => Number(pattern.exec(stderr)?.[1]);
  return {
    psnr: { y: value(/PSNR y:([\d.]+|inf)/), u: value(/PSNR y:\S+ u:([\d.]+|inf)/), v: value(/PSNR y:\S+ u:\S+ v:([\d.]+|inf)/) },
    ssim: { y: value(/SSIM Y:([\d.]+)/), u: value(/SSIM Y:\S+ \(\S+\) U:([\d.]+)/), v: value(/SSIM Y:\S+ \(\S+\) U:\S+ \(\S+\) V:([\d.]+)/) },
  };
}

/** Distinct luma code values of one decoded frame at 10 bits: a picture that went through 8 bits
 * anywhere has at most 256, whatever its pixel format tag says. */
export async function distinctLumaValues(path: string, frame = 0): Promise<number> {
  const video = (await streamsOf(path)).find((s) => s.codec_type === 'video');
  const width = video?.width ?? 0;
  const height = video?.height ?? 0;
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', path, '-map', '0:v:0', '-vf', `select=eq(n\\,${frame}),format=yuv420p10le`, '-frames:v', '1', '-f', 'rawvideo', '-']);
  const luma = new Uint16Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + width * height * 2));
  return new Set(luma).size;
}
