import { createWriteStream } from 'node:fs';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { produceFileAtomically } from '@reelmesh/storage';
import { inputArgs, outputArgs } from './codec-args';
import { concatChunks } from './concat-chunks';
import { MediaError } from './errors';
import { createFifo } from './fifo';
import { runFfmpeg } from './run-ffmpeg';
import { rateString, soundHandleSamples, type ProgrammeFormat } from './format';
import type { Source } from './settings';

export interface AssembleInputs {
  /** HDR10 HEVC picture chunks (Matroska), in order. */
  pictures: Source[];
  /** Mastered PCM sound chunks (Matroska), in order; each after the first starts with its handle. */
  sounds: Source[];
}

/** Joins the chunks into one deliverable without re-encoding the picture: picture chunks become one
 * Annex-B HEVC stream on ffmpeg's stdin (re-timed at the programme's exact frame rate), sound chunks
 * one raw 32-bit float stream through a FIFO (each chunk's handle dropped by sample count, so the
 * joins are continuous), and ffmpeg muxes both. `.mp4`/`.mov` gets AAC sound (bit rate by channel
 * count); anything else is Matroska with 24-bit PCM. The file appears under its name only when
 * complete. */
export async function assemble(
  inputs: AssembleInputs,
  outPath: string,
  format: ProgrammeFormat,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { pictures, sounds } = inputs;
  if (pictures.length === 0) throw new MediaError('MEDIA_INVALID_ARGUMENT', 'assemble: no picture chunks');
  if (pictures.length !== format.chunkCount) {
    throw new MediaError('MEDIA_INVALID_ARGUMENT', `assemble: ${pictures.length} picture chunks but the programme has ${format.chunkCount}`);
  }
  const sound = format.sound;
  if (sound ? sounds.length !== pictures.length : sounds.length !== 0) {
    throw new MediaError('MEDIA_INVALID_ARGUMENT', `assemble: ${pictures.length} picture chunks but ${sounds.length} sound chunks`);
  }
  const mp4 = ['.mp4', '.mov', '.m4v'].includes(extname(outPath).toLowerCase());

  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const fifo = sound ? await createFifo('sound.pcm') : undefined;
  try {
    await produceFileAtomically(outPath, async (partialPath) => {
      const picture = concatChunks(
        'assemble picture',
        pictures,
        (command) => outputArgs(command, ['-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'hevc_mp4toannexb', '-f', 'hevc']),
        abort.signal,
      );
      const pcm =
        sound &&
        concatChunks(
          'assemble sound',
          sounds,
          (command, index) =>
            outputArgs(command, [
              '-map', '0:a:0',
              ...(index > 0 ? ['-af', `atrim=start_sample=${soundHandleSamples(index, sound.sampleRate)}`] : []),
              '-c:a', 'pcm_f32le', '-f', 'f32le',
            ]),
          abort.signal,
        );
      // Opening a FIFO for writing waits for ffmpeg to open it for reading.
      const soundFed =
        pcm && fifo
          ? pipeline(pcm.stream, createWriteStream(fifo.path)).then(
              () => undefined,
              (err: unknown) => err,
            )
          : Promise.resolve(undefined);

      const muxed = await runFfmpeg({
        name: 'assemble',
        source: () => picture.stream,
        signal: abort.signal,
        pathAliases: fifo ? { [fifo.path]: 'sound.pcm' } : undefined,
        build: (command) => {
          inputArgs(command, ['-thread_queue_size', '512', '-f', 'hevc', '-framerate', rateString(format.picture.frameRate), '-fflags', '+genpts']);
          if (sound && fifo) {
            command.input(fifo.path);
            inputArgs(command, [
              '-thread_queue_size', '512', '-f', 'f32le', '-ar', String(sound.sampleRate), '-ac', String(sound.channels),
              '-channel_layout', sound.channelLayout,
            ]);
          }
          outputArgs(command, [
            '-map', '0:v:0', ...(sound ? ['-map', '1:a:0'] : []),
            '-c:v', 'copy',
            '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv',
            ...(mp4
              ? ['-tag:v', 'hvc1', ...(sound ? ['-c:a', 'aac', '-b:a', aacBitrate(sound.channels)] : []), '-movflags', '+faststart+write_colr', '-f', 'mp4']
              : [...(sound ? ['-c:a', 'pcm_s24le'] : []), '-f', 'matroska']),
          ]);
          command.output(partialPath);
        },
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (muxed) {
        abort.abort();
        await fifo?.dispose(); // releases the sound writer if ffmpeg died before opening the FIFO
      }
      const [pictureError, soundError, feedError] = await Promise.all([picture.failure, pcm ? pcm.failure : undefined, soundFed]);
      // Report the root cause, not the aborts and broken pipes it caused downstream.
      const causes = [pictureError, soundError, muxed, feedError].filter((e) => e !== undefined);
      const root = causes.find((e) => !isConsequence(e)) ?? causes[0];
      if (root) throw root instanceof MediaError ? root : new MediaError('MEDIA_JOB_FAILED', `assemble: ${(root as Error).message}`, { cause: root });
    });
  } finally {
    abort.abort();
    options.signal?.removeEventListener('abort', onOuterAbort);
    await fifo?.dispose();
  }
}

/** AAC bit rate for the delivery: 128 kb/s per channel up to stereo, 80 kb/s per channel beyond
 * (5.1: 480 kb/s). */
export function aacBitrate(channels: number): string {
  return `${channels <= 2 ? 128 * channels : 80 * channels}k`;
}

function isConsequence(err: unknown): boolean {
  return err instanceof MediaError ? err.code === 'MEDIA_ABORTED' || err.code === 'MEDIA_INPUT_FAILED' : true;
}
