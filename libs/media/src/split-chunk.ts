import type { Writable } from 'node:stream';
import { KEEP_FRAMES, MATROSKA_PIPE, mezzanineArgs, outputArgs, pcmIntermediate } from './codec-args';
import { chunkFrames, chunkSamples, type ProgrammeFormat } from './format';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings } from './settings';

export interface SplitOptions {
  signal?: AbortSignal;
}

/**
 * Writes chunk `index` of a master as the workflow carries it: exactly the chunk's frames (cut on
 * the frame grid, never re-timed) as a 10-bit mezzanine, and its sound as PCM of 24 bits or more,
 * sample-exact, with the sound's handle before it (see SOUND_HANDLE_SECONDS). The master keeps its
 * size, rate and layout; only an explicit conform (format.conform) scales or resamples.
 *
 * Picture: an input seek to half a frame before the chunk's first frame (accurate seek decodes from
 * the keyframe before and drops what precedes), then exactly `count` frames (trimmed in the graph).
 * Sound: a second input seeks to a whole second at least a second earlier (a sound packet covering
 * the boundary may start before the picture keyframe a demuxer seeks to), then the samples are cut
 * by timestamp to the sample and counted to the exact length.
 */
export async function splitChunk(
  masterPath: string,
  format: ProgrammeFormat,
  index: number,
  media: Pick<MediaSettings, 'intermediate' | 'deinterlace'>,
  out: Writable,
  options: SplitOptions = {},
): Promise<void> {
  const { first, count } = chunkFrames(format, index);
  const master = format.master.picture;
  const retime = format.conform?.frameRate ? nearestFrames(format, first) : undefined;
  const seek = retime?.seek ?? Math.max(0, ((first - 0.5) * master.frameRate.den) / master.frameRate.num);
  const picture = [
    ...(master.interlaced && media.deinterlace ? [`${media.deinterlace}=mode=send_frame`] : []),
    ...(retime?.filters ?? []),
    ...(format.conform?.resolution ? [`scale=${format.picture.width}:${format.picture.height}:flags=${format.conform.scaler ?? 'lanczos'}`, 'setsar=1'] : []),
    `format=${format.picture.mezzaninePixFmt}`,
    // A filter, not -frames:v: ffmpeg ends every stream of an output once one reaches its -frames.
    `trim=end_frame=${count}`,
    ...(retime ? ['setpts=PTS-STARTPTS'] : []),
  ].join(',');
  const sound = format.sound && format.master.sound ? soundSelection(format, index) : undefined;

  await runFfmpeg({
    name: `split chunk ${index}`,
    output: out,
    signal: options.signal,
    build: (command) => {
      command.input(masterPath).inputOptions('-ss', seek.toFixed(6));
      // No accurate seek for the sound: ffmpeg's own cut at the seek point rounds to the sample either
      // way; ours (atrim on exact packet timestamps, half a sample of slack) does not.
      if (sound) command.input(masterPath).inputOptions('-noaccurate_seek', '-ss', sound.seek.toFixed(6));
      outputArgs(command, [
        '-map', '0:v:0',
        '-vf', picture,
        ...mezzanineArgs(media.intermediate.picture),
        ...KEEP_FRAMES,
        ...(sound ? ['-map', '1:a:0', '-af', sound.filter, ...pcmIntermediate(media), ...sound.layout] : []),
        ...MATROSKA_PIPE,
      ]);
    },
  });
}

/** A frame-rate conform, method 'nearest': delivery frame n (at n / rate) shows the master frame
 * nearest in time. The master is read from a frame before the chunk's first delivery frame, its
 * timestamps put back on the programme's clock, and `fps` picks the nearest frame for each point of
 * the delivery grid from the chunk's start (dropping or repeating frames, never blending). */
function nearestFrames(format: ProgrammeFormat, first: number): { seek: number; filters: string[] } {
  const { num, den } = format.picture.frameRate;
  const master = format.master.picture.frameRate;
  const start = (first * den) / num; // the chunk's first delivery frame, in seconds
  const masterFrame = Math.max(0, Math.floor((start * master.num) / master.den) - 1);
  const seek = Math.round(Math.max(0, ((masterFrame - 0.5) * master.den) / master.num) * 1e6) / 1e6;
  return {
    seek,
    filters: [`setpts=PTS+${seek.toFixed(6)}/TB`, `fps=fps=${num}/${den}:start_time=${start.toFixed(6)}:round=near`],
  };
}

/** The sound of chunk `index` with its handle: where to seek the master and the filter that cuts it. */
function soundSelection(format: ProgrammeFormat, index: number): { seek: number; filter: string; layout: string[] } {
  const master = format.master.sound!;
  const delivered = format.sound!;
  const source = chunkSamples(format, index, master.sampleRate);
  const start = source.first - source.handle; // in samples from the start of the sound
  // Seek to a whole second at least a second before: exact in every container's time base (ffmpeg
  // rounds its timestamp offset to the stream's), so the cut below lands on the very sample.
  const seek = Math.max(0, Math.floor(start / master.sampleRate) - SOUND_LEAD_SECONDS);
  const offset = start - seek * master.sampleRate;
  // A quarter sample early: the cut time survives ffmpeg's microsecond rounding on either side.
  const cut = Math.max(0, (offset - 0.25) / master.sampleRate);
  const filters = [`atrim=start=${cut.toFixed(9)}`, 'asetpts=PTS-STARTPTS'];
  if (source.count !== undefined) filters.push(`atrim=end_sample=${source.count + source.handle}`);
  const resample = delivered.sampleRate !== master.sampleRate;
  if (resample) {
    const target = chunkSamples(format, index);
    filters.push(`aresample=${delivered.sampleRate}`);
    if (target.count !== undefined) filters.push('apad', `atrim=end_sample=${target.count + target.handle}`);
  }
  const remix = delivered.channels !== master.channels;
  return {
    seek,
    filter: filters.join(','),
    layout: remix ? ['-ac', String(delivered.channels), '-channel_layout', delivered.channelLayout] : [],
  };
}

// Longer than any sound packet (FLAC ~0.1 s, AAC ~0.02 s); costs a second or two of decoding.
const SOUND_LEAD_SECONDS = 1;
