import { outputArgs } from './codec-args';
import { ffmpegVersion } from './ffmpeg-version';
import { gradeFilter } from './grade';
import { HDR10_FILTER, x265Args } from './hdr10';
import { inspectMaster } from './inspect-master';
import { pictureFxGraph } from './picture-fx';
import { COMPRESSOR, masteringChain } from './programme-loudness';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings } from './settings';
import { SOUND_FX_CHAIN } from './sound-fx';

export interface ReferenceOptions {
  masterPath: string;
  /** A Matroska file. */
  outPath: string;
  media: MediaSettings;
  lutPath: string;
  /** 'final': the workflow's x265 encode; 'lossless': the same chain kept lossless (10-bit). */
  picture: 'final' | 'lossless';
}

/**
 * The film workflow's chains run once, in one ffmpeg, over the whole master: the picture through
 * the effects, the grade and HDR10 with no intermediate at all; the sound through the effects and
 * the mastering chain with the programme's gain measured over the whole programme in one pass.
 * What the chunked, multi-contractor run is measured against (`reelmesh bench --only quality`).
 */
export async function renderReference(options: ReferenceOptions): Promise<void> {
  const { masterPath, outPath, media, lutPath } = options;
  const { format } = await inspectMaster(masterPath, media, { decodeCheck: false });
  const version = await ffmpegVersion();
  const pixFmt = format.picture.mezzaninePixFmt;
  const sampleRate = format.sound?.sampleRate;
  const gain = sampleRate ? await wholeProgrammeGain(masterPath, media) : 0;
  const picture =
    `[0:v:0]format=${pixFmt}[ref_in];` +
    pictureFxGraph('[ref_in]', '[ref_fx]') +
    `;[ref_fx]${gradeFilter(lutPath, version, pixFmt)},${HDR10_FILTER}[ref_picture]`;
  const sound = sampleRate ? `;[0:a:0]${SOUND_FX_CHAIN},${masteringChain(gain, media, sampleRate)}[ref_sound]` : '';
  await runFfmpeg({
    name: 'reference render',
    build: (command) => {
      command.input(masterPath);
      outputArgs(command, [
        '-filter_complex', picture + sound,
        '-map', '[ref_picture]',
        ...(options.picture === 'final' ? x265Args(media) : ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p10le']),
        ...(sampleRate ? ['-map', '[ref_sound]', '-c:a', 'pcm_s24le'] : []),
        '-f', 'matroska',
      ]);
      command.output(outPath);
    },
  });
}

/** The gain the mastering chain needs over the whole programme (sound effects, then compressor, measured once). */
async function wholeProgrammeGain(masterPath: string, media: Pick<MediaSettings, 'loudness'>): Promise<number> {
  const stderr = await runFfmpeg({
    name: 'reference loudness',
    logLevel: 'info',
    build: (command) => {
      command.input(masterPath);
      outputArgs(command, ['-filter_complex', `[0:a:0]${SOUND_FX_CHAIN},${COMPRESSOR},ebur128[out]`, '-map', '[out]', '-f', 'null']);
      command.output('-');
    },
  });
  const integrated = Number(/I:\s+(-?[\d.]+)\s+LUFS/.exec(stderr.slice(stderr.lastIndexOf('Summary:')))?.[1]);
  return Number.isFinite(integrated) ? media.loudness.integratedLufs - integrated : 0;
}
