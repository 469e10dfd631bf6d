import { runFfprobe } from './run-ffprobe';
import type { MediaInfo } from './probe';
import type { MediaSettings } from './settings';

/** Can splitChunk stream-copy this master's picture instead of re-encoding it? Only when the copy
 * is exactly what re-encoding would give: H.264 8-bit 4:2:0 BT.709 at the workflow's size and
 * square pixels, constant frame rate starting at 0, and a keyframe on every chunk boundary (so each
 * chunk is a run of whole GOPs). The packet scan reads timestamps and flags only, no decoding. */
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

/** Every packet sits on the frame grid (n / frameRate from 0, none missing or doubled) and frame
 * k * chunkFrames is a keyframe for every k. */
async function keyframesOnBoundaries(path: string, frameRate: number, chunkFrames: number): Promise<boolean> {
  // One byte per frame (0 = missing, 1 = frame, 2 = keyframe): packets come in decode order.
  let seen = new Uint8Array(1024);
  let count = 0;
  let onGrid = true;
  const args = ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0'];
  try {
    await runFfprobe('inspect keyframes', args, path, (line) => {
      const [ptsText, flags = ''] = line.split(',');
      const position = Number(ptsText) * frameRate;
      const frame = Math.round(position);
      if (!onGrid || !Number.isFinite(position) || Math.abs(position - frame) > 0.1 || frame < 0) return void (onGrid = false);
      if (frame >= seen.length) {
        const grown = new Uint8Array(Math.max(seen.length * 2, frame + 1));
        grown.set(seen);
        seen = grown;
      }
      if (seen[frame] !== 0) return void (onGrid = false); // two packets on one frame
      seen[frame] = flags.includes('K') ? 2 : 1;
      count++;
    });
  } catch {
    return false; // unreadable here means "re-encode", which reports its own error if it must
  }
  if (!onGrid || count === 0) return false;
  for (let frame = 0; frame < count; frame++) {
    if (seen[frame] === 0) return false; // a gap: the grid does not start at 0 or skips a frame
    if (frame % chunkFrames === 0 && seen[frame] !== 2) return false;
  }
  return true;
}
