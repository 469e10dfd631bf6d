import { PassThrough, Writable, type Readable } from 'node:stream';
import type { FfmpegCommand } from 'fluent-ffmpeg';
import { runFfmpeg } from './run-ffmpeg';
import type { Source } from './settings';

/** One continuous elementary stream from many chunks: each chunk goes through its own small ffmpeg
 * (e.g. Matroska -> Annex-B HEVC, or -> raw PCM) and the outputs are joined in order.
 * `failure` resolves with the first error (and the joined stream is destroyed with it). */
export function concatChunks(
  name: string,
  sources: Source[],
  build: (command: FfmpegCommand, index: number) => void,
  signal: AbortSignal,
): { stream: Readable; failure: Promise<unknown> } {
  const joined = new PassThrough({ highWaterMark: 1 << 20 });
  const failure = (async () => {
    for (const [index, source] of sources.entries()) {
      await runFfmpeg({ name: `${name} chunk ${index}`, source, output: forwardInto(joined), signal, build: (command) => build(command, index) });
    }
    joined.end();
    return undefined;
  })().catch((err: unknown) => {
    joined.destroy(err as Error);
    return err;
  });
  return { stream: joined, failure };
}

/** A Writable that feeds `target` with backpressure but never ends or destroys it. */
function forwardInto(target: PassThrough): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (target.destroyed) return callback(new Error('joined stream is closed'));
      if (target.write(chunk)) return callback();
      const onDrain = () => {
        target.off('close', onClose);
        callback();
      };
      const onClose = () => {
        target.off('drain', onDrain);
        callback(new Error('joined stream is closed'));
      };
      target.once('drain', onDrain);
      target.once('close', onClose);
    },
  });
}
