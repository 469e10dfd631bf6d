import type { Writable } from 'node:stream';
import { KEEP_FRAMES, MATROSKA_PIPE, outputArgs } from './codec-args';
import { ffmpegThreads } from './binaries';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

/** SDR BT.709 -> HDR10. setparams tags the input so zscale knows its source space; zscale
 * linearises, converts primaries to BT.2020 and encodes with the PQ curve (SDR white lands at the
 * nominal 100 nits); x265 writes Main 10 with the mastering-display and content-light SEI. */
export const HDR10_FILTER =
  'setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv,' +
  'zscale=p=bt2020:t=smpte2084:m=bt2020nc:r=tv:npl=100,format=yuv420p10le';

export function x265Hdr10Params(hdr: MediaSettings['hdr']): string {
  return [
    'hdr-opt=1',
    // No B-frames: decode order = display order, so assembly can re-time the raw Annex-B stream
    // from the frame rate alone (ffmpeg 4.1 cannot stream-copy raw HEVC with B-frames). Also faster.
    'bframes=0',
    'repeat-headers=1',
    'colorprim=bt2020',
    'transfer=smpte2084',
    'colormatrix=bt2020nc',
    `master-display=${hdr.masterDisplay}`,
    `max-cll=${hdr.maxCll}`,
    `pools=${ffmpegThreads() || '*'}`,
    'log-level=error',
  ].join(':');
}

/** The final encode: HEVC Main 10 by x265 at the workflow's preset and CRF (media.delivery.x265). */
export function x265Args(media: Pick<MediaSettings, 'hdr' | 'delivery'>): string[] {
  const { preset, crf } = media.delivery.x265;
  return [
    '-c:v', 'libx265', '-preset', preset, '-crf', String(crf), '-profile:v', 'main10', '-pix_fmt', 'yuv420p10le',
    '-x265-params', x265Hdr10Params(media.hdr),
    '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv',
  ];
}

export async function hdr10(source: Source, out: Writable, media: Pick<MediaSettings, 'hdr' | 'delivery'>, options: { signal?: AbortSignal } = {}): Promise<void> {
  await runFfmpeg({
    name: 'hdr10',
    source,
    output: out,
    signal: options.signal,
    build: (command) =>
      outputArgs(command, [
        '-map', '0:v:0',
        '-vf', HDR10_FILTER,
        ...x265Args(media),
        ...KEEP_FRAMES,
        ...MATROSKA_PIPE,
      ]),
  });
}
