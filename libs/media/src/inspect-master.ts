import { stat } from 'node:fs/promises';
import { MediaError } from './errors';
import { probe, type MediaInfo } from './probe';
import type { MediaSettings } from './settings';
import { isVideoCopyable } from './video-copyable';

export interface MasterInfo {
  path: string;
  durationSeconds: number;
  chunkCount: number;
  hasAudio: boolean;
  /** The picture already conforms (see isVideoCopyable): splitChunk may stream-copy it. Pass it on
   * as `splitChunk(..., { videoCopyable })`. Always false when `media.resolution` is not given. */
  videoCopyable: boolean;
  info: MediaInfo;
}

/** Checks that a master is real media with a picture, says how many chunks it splits into and
 * whether its picture can be split without re-encoding (one cheap packet scan per master). */
export async function inspectMaster(
  path: string,
  media: Pick<MediaSettings, 'chunkSeconds' | 'frameRate'> & Partial<Pick<MediaSettings, 'resolution'>>,
): Promise<MasterInfo> {
  const size = await stat(path).then(
    (s) => (s.isFile() ? s.size : -1),
    () => undefined,
  );
  if (size === undefined) throw new MediaError('MEDIA_NOT_FOUND', `master not found: ${path}`);
  if (size < 0) throw new MediaError('MEDIA_UNREADABLE', `master is not a regular file: ${path}`);
  if (size === 0) throw new MediaError('MEDIA_EMPTY', `master is an empty file: ${path}`);

  const info = await probe(path);
  if (!info.streams.some((s) => s.type === 'video')) {
    throw new MediaError('MEDIA_NO_VIDEO', `master has no video stream: ${path}`);
  }
  if (!(info.durationSeconds > 0)) throw new MediaError('MEDIA_UNREADABLE', `master has no measurable duration: ${path}`);
  return {
    path,
    durationSeconds: info.durationSeconds,
    chunkCount: chunkCountFor(info.durationSeconds, media),
    hasAudio: info.streams.some((s) => s.type === 'audio'),
    videoCopyable: await isVideoCopyable(path, info, media),
    info,
  };
}

/** Chunks needed to cover a duration; a tail shorter than half a frame is rounding, not a chunk. */
export function chunkCountFor(durationSeconds: number, media: Pick<MediaSettings, 'chunkSeconds' | 'frameRate'>): number {
  if (!(media.chunkSeconds > 0)) throw new MediaError('MEDIA_INVALID_ARGUMENT', `chunkSeconds must be > 0, got ${media.chunkSeconds}`);
  const slack = 0.5 / media.frameRate;
  return Math.max(1, Math.ceil((durationSeconds - slack) / media.chunkSeconds));
}
