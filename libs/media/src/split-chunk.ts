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
 * Input seeking plus re-encoding trims frame- and sample-accurately, so chunks add up to the master.
 * A conforming picture is stream-copied instead: the seek lands on the keyframe at the boundary and
 * -frames:v takes exactly one chunk of packets (whole closed GOPs, so decode order = the chunk's
 * frames); the sound is still decoded and trimmed to the sample. */
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
  const chunkFrames = Math.round(media.chunkSeconds * media.frameRate);
  const picture = options.videoCopyable
    ? ['-c:v', 'copy', '-frames:v', String(chunkFrames)]
    : [
        '-vf', `scale=${width}:${height}:flags=bicubic,setsar=1,fps=${media.frameRate},format=yuv420p`,
        ...H264_INTERMEDIATE,
        '-g', String(chunkFrames),
      ];
  await runFfmpeg({
    name: `split chunk ${index}`,
    output: out,
    signal: options.signal,
    build: (command) => {
      command.input(masterPath).inputOptions('-ss', start.toFixed(6));
      outputArgs(command, [
        '-map', '0:v:0', '-map', '0:a:0?',
        '-t', media.chunkSeconds.toFixed(6),
        ...picture,
        ...pcmIntermediate(media),
        ...MATROSKA_PIPE,
      ]);
    },
  });
}
