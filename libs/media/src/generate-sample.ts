import { extname } from 'node:path';
import { produceFileAtomically } from '@reelmesh/storage';
import { outputArgs } from './codec-args';
import { MediaError } from './errors';
import { CHANNEL_LAYOUTS } from './format';
import { runFfmpeg } from './run-ffmpeg';

export interface GenerateSampleOptions {
  durationSeconds: number;
  outPath: string;
  /** Picture size (default 1280x720). */
  width?: number;
  height?: number;
  /** Frame rate as ffmpeg reads it: '25', '24000/1001', '30000/1001', ... (default '25'). */
  frameRate?: string;
  /** Picture pixel format of the master (default yuv420p; e.g. yuv422p10le for a 10-bit master). */
  pixFmt?: string;
  sampleRate?: number;
  /** 1 (mono), 2 (stereo, the default) or 6 (5.1). */
  channels?: 1 | 2 | 6;
  /** The sound as an aevalsrc expression per channel ('|'-separated); default: tones with real dynamics. */
  soundExpression?: string;
  /** No sound stream at all. */
  silent?: boolean;
}

/** A synthetic master: moving testsrc2 picture (H.264 with B-frames, as cameras and editors write)
 * and sound with real dynamics (tones under slow amplitude modulation plus noise, around -14 LUFS
 * so mastering to -23 has work to do). `.mov` gets 24-bit PCM sound, anything else Matroska with FLAC.
 * Size, rate and layout are this generator's own options: the workflow carries whatever it gets. */
export async function generateSample(options: GenerateSampleOptions): Promise<void> {
  const { durationSeconds, outPath } = options;
  if (!(durationSeconds > 0)) throw new MediaError('MEDIA_INVALID_ARGUMENT', `durationSeconds must be > 0, got ${durationSeconds}`);
  const width = options.width ?? 1280;
  const height = options.height ?? 720;
  const rate = options.frameRate ?? '25';
  const sampleRate = options.sampleRate ?? 48000;
  const channels = options.channels ?? 2;
  const mov = ['.mov', '.mp4'].includes(extname(outPath).toLowerCase());
  const tenBit = /10le$/.test(options.pixFmt ?? '');

  await produceFileAtomically(outPath, (partialPath) =>
    runFfmpeg({
      name: 'generate-sample',
      build: (command) => {
        command.input(`testsrc2=size=${width}x${height}:rate=${rate}:duration=${durationSeconds}`).inputFormat('lavfi');
        if (!options.silent) {
          command.input(`aevalsrc=${options.soundExpression ?? soundExpression(channels)}:s=${sampleRate}:d=${durationSeconds}`).inputFormat('lavfi');
        }
        outputArgs(command, [
          '-map', '0:v',
          ...(options.silent ? [] : ['-map', '1:a']),
          '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', options.pixFmt ?? 'yuv420p',
          ...(tenBit ? ['-profile:v', 'high10'] : []),
          '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', '-color_range', 'tv',
          ...(options.silent ? [] : ['-c:a', mov ? 'pcm_s24le' : 'flac', '-ac', String(channels), '-channel_layout', CHANNEL_LAYOUTS[channels]]),
          '-t', String(durationSeconds),
          '-f', mov ? 'mov' : 'matroska',
        ]);
        command.output(partialPath);
      },
    }),
  );
}

// Channels differ so the image is real; random() gives broadband noise. The LFE (4th of 5.1) gets a
// low tone. Every channel swells and fades over 23 s (about 14 dB), like scenes of a film, so the
// programme has a loudness range for mastering to keep.
function soundExpression(channels: number): string {
  const scenes = '(0.6+0.4*sin(2*PI*t/23))';
  const tone = (f1: number, f2: number, m1: number, m2: number, seed: number) =>
    `${scenes}*(0.45*sin(2*PI*${f1}*t)*(0.6+0.4*sin(2*PI*${m1}*t))+0.25*sin(2*PI*${f2}*t)*(0.5+0.5*sin(2*PI*${m2}*t))+0.06*(2*random(${seed})-1))`;
  const all = [
    tone(220, 660, 0.35, 2.5, 0),
    tone(330, 990, 0.25, 1.5, 1),
    tone(275, 825, 0.3, 2, 2),
    '0.3*sin(2*PI*60*t)',
    tone(180, 540, 0.2, 1.2, 3),
    tone(240, 720, 0.4, 1.8, 4),
  ];
  const picked = channels === 1 ? [all[0]] : channels === 2 ? all.slice(0, 2) : all.slice(0, 6);
  return `'${picked.join('|')}'`;
}
