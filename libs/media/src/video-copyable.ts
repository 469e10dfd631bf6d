import { runFfprobe } from './run-ffprobe';
import type { MediaInfo } from './probe';
import type { MediaSettings } from './settings';

/** Can splitChunk stream-copy this master's picture instead of re-encoding it? Only when the copy
 * is exactly what re-encoding would give: H.264 8-bit 4:2:0 BT.709 at the workflow's size and
 * square pixels, constant frame rate starting at 0, no frame reordering (B-frames make ffmpeg seek
 * to the keyframe before the boundary, and cut by decode time), and a keyframe on every chunk
 * boundary. The packet scan reads timestamps and flags only, no decoding. */
export async function isVideoCopyable(
  path: string,
  info: MediaInfo,
  media: Pick<MediaSettings, 'chunkSeconds' | 'frameRate'> & Partial<Pick<MediaSettings, 'resolution'>>,
): Promise<boolean> {
  const video = info.streams.find((s) => s.type === 'video');
  if (!video || !media.resolution) return false;
  const chunkFrames = media.chunkSeconds * media.frameRate;
  const conforms =
    video.codec === 'h264' &&
    video.pixFmt === 'yuv420p' &&
    video.width === media.resolution.width &&
    video.height === media.resolution.height &&
    (video.sampleAspectRatio === undefined || video.sampleAspectRatio === '1:1' || video.sampleAspectRatio === '0:1') &&
    video.colorPrimaries === 'bt709' &&
    video.colorTransfer === 'bt709' &&
    video.colorSpace === 'bt709' &&
    video.colorRange === 'tv' &&
    video.frameRate !== undefined &&
    Math.abs(video.frameRate - media.frameRate) < 1e-6 &&
    Math.abs(chunkFrames - Math.round(chunkFrames)) < 1e-6; // boundaries must fall on frames
  if (!conforms) return false;
  return keyframesOnBoundaries(path, media.frameRate, Math.round(chunkFrames));
}

/** Packets come in display order (no reordering) on the frame grid n / frameRate from 0 with
 * none missing or doubled, and frame k * chunkFrames is a keyframe for every k. */
async function keyframesOnBoundaries(path: string, frameRate: number, chunkFrames: number): Promise<boolean> {
  let conforms = true;
  let next = 0; // the frame number the next packet must carry
  const args = ['-select_streams', 'v:0', '-show_entries', 'stream=has_b_frames:packet=pts_time,flags', '-of', 'csv'];
  try {
    await runFfprobe('inspect keyframes', args, path, (line) => {
      const [section, value, flags = ''] = line.split(',');
      if (section === 'stream') conforms &&= value === '0'; // the decoder would reorder frames
      if (section !== 'packet' || !conforms) return;
      const position = Number(value) * frameRate;
      conforms = Math.abs(position - next) < 0.1 && (next % chunkFrames !== 0 || flags.includes('K'));
      next++;
    });
  } catch {
    return false; // unreadable here means "re-encode", which reports its own error if it must
  }
  return conforms && next > 0;
}
