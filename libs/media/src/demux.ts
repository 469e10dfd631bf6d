import type { Writable } from 'node:stream';
import { MATROSKA_PIPE, outputArgs } from './codec-args';
import { runFfmpeg } from './run-ffmpeg';
import type { Source } from './settings';

export interface DemuxOutputs {
  picture: Writable;
  sound: Writable;
}

/** Splits an A/V chunk into a picture-only and a sound-only Matroska (stream copy). Two ffmpeg
 * processes each read the re-openable source once; if either fails, the other is stopped. */
export async function demux(source: Source, outputs: DemuxOutputs): Promise<void> {
  const abort = new AbortController();
  const extract = (kind: 'picture' | 'sound') =>
    runFfmpeg({
      name: `demux ${kind}`,
      source,
      output: outputs[kind],
      signal: abort.signal,
      build: (command) => outputArgs(command, [...(kind === 'picture' ? ['-map', '0:v:0'] : ['-map', '0:a:0']), '-c', 'copy', ...MATROSKA_PIPE]),
    }).catch((err: unknown) => {
      abort.abort();
      throw err;
    });
  const results = await Promise.allSettled([extract('picture'), extract('sound')]);
  // Report the first real failure, not the abort it caused in the sibling.
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as { code?: string });
  if (failures.length > 0) throw failures.find((e) => e.code !== 'MEDIA_ABORTED') ?? failures[0];
}
