import type { Writable } from 'node:stream';
import { H264_INTERMEDIATE, MATROSKA_PIPE, outputArgs, pcmIntermediate } from './codec-args';
import { MediaError } from './errors';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings } from './settings';

export interface SplitOptions {
  signal?: AbortSignal;
  /** The master's picture already conforms (MasterInfo.videoCopyable from inspectMaster): copy it
   * instead of re-encoding. Only pass what inspectMaster said for this very master. */
  videoCopyable?: boolean;
}

/** Writes chunk `index` of a master: exactly chunkSeconds from index*chunkSeconds (the last chunk
 * gets the remainder), normalised to the workflow's picture size, frame rate and audio format.
 * The picture is re-encoded after an input seek (decoding trims it to the frame), or, when it
 * already conforms, stream-copied: the seek then lands on the keyframe at the boundary and, with no
 * frame reordering, -t ends it right before the next one.
 * The sound is read through a second input that seeks a little earlier and is trimmed to the
 * sample by timestamp: a seek lands on a picture keyframe, and the sound packet covering the
 * boundary may start before it, so seeking the sound to the boundary itself would lose samples. */
export async function splitChunk(
  masterPath: string,
  index: number,
  media: Pick<MediaSettings, 'chunkSeconds' | 'frameRate' | 'resolution' | 'audio'>,
  out: Writable,
  options: SplitOptions = {},
): Promise<void> {
  if (!Number.isInteger(index) || index < 0) throw new MediaError('MEDIA_INVALID_ARGUMENT', `chunk index must be an integer >= 0, got ${index}`);
  const { width, height } = media.resolution;
  const start = index * media.chunkSeconds;
  const soundLead = Math.min(start, SOUND_LEAD_SECONDS);
  const picture = options.videoCopyable
    ? ['-c:v', 'copy']
    : [
        '-vf', `scale=${width}:${height}:flags=bicubic,setsar=1,fps=${media.frameRate},format=yuv420p`,
        ...H264_INTERMEDIATE,
        '-g', String(Math.round(media.chunkSeconds * media.frameRate)),
      ];
  await runFfmpeg({
    name: `split chunk ${index}`,
    output: out,
    signal: options.signal,
    build: (command) => {
      command.input(masterPath).inputOptions('-ss', start.toFixed(6));
      command.input(masterPath).inputOptions('-ss', (start - soundLead).toFixed(6));
      outputArgs(command, [
        '-map', '0:v:0', '-map', '1:a:0?',
        '-t', media.chunkSeconds.toFixed(6),
        ...picture,
        '-af', `atrim=start=${soundLead.toFixed(6)},asetpts=PTS-STARTPTS`,
        ...pcmIntermediate(media),
        ...MATROSKA_PIPE,
      ]);
    },
  });
}

// Longer than any sound packet (FLAC ~0.1 s, AAC ~0.02 s); costs a second of decoding.
const SOUND_LEAD_SECONDS = 1;
