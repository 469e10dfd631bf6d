import { produceFileAtomically } from '@reelmesh/storage';
import { outputArgs } from './codec-args';
import { MediaError } from './errors';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings } from './settings';

export interface GenerateSampleOptions {
  durationSeconds: number;
  media: Pick<MediaSettings, 'chunkSeconds' | 'frameRate' | 'resolution' | 'audio'>;
  outPath: string;
  /** Picture size; defaults to the workflow's resolution (tests use smaller for speed). */
  width?: number;
  height?: number;
}

/** A synthetic master: moving testsrc2 picture and stereo sound with real dynamics (two tones under
 * slow amplitude modulation plus noise, around -14 LUFS so mastering to -23 has work to do).
 * It conforms to the workflow (inspectMaster says videoCopyable when width/height are the workflow's):
 * a keyframe sits on every chunk boundary and no frames are reordered, so splitting can seek
 * straight to a boundary and copy the picture. */
export async function generateSample(options: GenerateSampleOptions): Promise<void> {
  const { durationSeconds, media, outPath } = options;
  if (!(durationSeconds > 0)) throw new MediaError('MEDIA_INVALID_ARGUMENT', `durationSeconds must be > 0, got ${durationSeconds}`);
  const width = options.width ?? media.resolution.width;
  const height = options.height ?? media.resolution.height;
  const rate = media.frameRate;
  const chunkFrames = Math.round(media.chunkSeconds * rate);

  await produceFileAtomically(outPath, (partialPath) =>
    runFfmpeg({
      name: 'generate-sample',
      build: (command) => {
        command.input(`testsrc2=size=${width}x${height}:rate=${rate}:duration=${durationSeconds}`).inputFormat('lavfi');
        command.input(`aevalsrc=${soundExpression()}:s=${media.audio.sampleRate}:d=${durationSeconds}`).inputFormat('lavfi');
        outputArgs(command, [
          '-map', '0:v', '-map', '1:a',
          '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p',
          // No B-frames, so decode order is display order and splitChunk can stream-copy chunks.
          '-bf', '0',
          '-g', String(chunkFrames), '-keyint_min', String(chunkFrames), '-sc_threshold', '0',
          '-force_key_frames', `expr:gte(t,n_forced*${media.chunkSeconds})`,
          '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv',
          '-c:a', 'flac', '-ac', String(media.audio.channels),
          '-t', String(durationSeconds),
          '-f', 'matroska',
        ]);
        command.output(partialPath);
      },
    }),
  );
}

// Left and right differ so the stereo image is real; random() gives broadband noise.
function soundExpression(): string {
  const left = '0.45*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*0.35*t))+0.25*sin(2*PI*660*t)*(0.5+0.5*sin(2*PI*2.5*t))+0.06*(2*random(0)-1)';
  const right = '0.45*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*0.25*t))+0.25*sin(2*PI*990*t)*(0.5+0.5*sin(2*PI*1.5*t))+0.06*(2*random(1)-1)';
  return `'${left}|${right}'`;
}
