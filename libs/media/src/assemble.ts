import { createWriteStream } from 'node:fs';
import { extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { produceFileAtomically } from '@reelmesh/storage';
import { inputArgs, outputArgs } from './codec-args';
import { concatChunks } from './concat-chunks';
import { MediaError } from './errors';
import { createFifo } from './fifo';
import { runFfmpeg } from './run-ffmpeg';
import type { MediaSettings, Source } from './settings';

export interface AssembleInputs {
  /** HDR10 HEVC picture chunks (Matroska), in order. */
  pictures: Source[];
  /** Mastered PCM sound chunks (Matroska), in order. */
  sounds: Source[];
}

/** Joins the chunks into one deliverable without re-encoding the picture: picture chunks become one
 * Annex-B HEVC stream on ffmpeg's stdin, sound chunks one raw PCM stream through a FIFO, and ffmpeg
 * muxes both. `.mp4`/`.mov` gets AAC sound; anything else is Matroska with PCM. The file appears
 * under its name only when complete. */
export async function assemble(
  inputs: AssembleInputs,
  outPath: string,
  media: Pick<MediaSettings, 'frameRate' | 'audio'>,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const { pictures, sounds } = inputs;
  if (pictures.length === 0) throw new MediaError('MEDIA_INVALID_ARGUMENT', 'assemble: no picture chunks');
  if (sounds.length !== pictures.length) {
    throw new MediaError('MEDIA_INVALID_ARGUMENT', `assemble: ${pictures.length} picture chunks but ${sounds.length} sound chunks`);
  }
  const { sampleRate, channels } = media.audio;
  const mp4 = ['.mp4', '.mov', '.m4v'].includes(extname(outPath).toLowerCase());

  const abort = new AbortController();
  const onOuterAbort = () => abort.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const fifo = await createFifo('sound.pcm');
  try {
    await produceFileAtomically(outPath, async (partialPath) => {
      const picture = concatChunks(
        'assemble picture',
        pictures,
        (command) => outputArgs(command, ['-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'hevc_mp4toannexb', '-f', 'hevc']),
        abort.signal,
      );
      const sound = concatChunks(
        'assemble sound',
        sounds,
        (command) => outputArgs(command, ['-map', '0:a:0', '-c:a', 'pcm_s16le', '-ar', String(sampleRate), '-ac', String(channels), '-f', 's16le']),
        abort.signal,
      );
      // Opening a FIFO for writing waits for ffmpeg to open it for reading.
      const soundFed = pipeline(sound.stream, createWriteStream(fifo.path)).then(
        () => undefined,
        (err: unknown) => err,
      );

      const muxed = await runFfmpeg({
        name: 'assemble',
        source: () => picture.stream,
        signal: abort.signal,
        build: (command) => {
          inputArgs(command, ['-thread_queue_size', '512', '-f', 'hevc', '-framerate', String(media.frameRate), '-fflags', '+genpts']);
          command.input(fifo.path);
          inputArgs(command, ['-thread_queue_size', '512', '-f', 's16le', '-ar', String(sampleRate), '-ac', String(channels)]);
          outputArgs(command, [
            '-map', '0:v:0', '-map', '1:a:0',
            '-c:v', 'copy',
            '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv',
            ...(mp4 ? ['-tag:v', 'hvc1', '-c:a', 'aac', '-b:a', '256k', '-movflags', '+faststart+write_colr', '-f', 'mp4'] : ['-c:a', 'pcm_s16le', '-f', 'matroska']),
          ]);
          command.output(partialPath);
        },
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (muxed) {
        abort.abort();
        await fifo.dispose(); // releases the sound writer if ffmpeg died before opening the FIFO
      }
      const [pictureError, soundError, feedError] = await Promise.all([picture.failure, sound.failure, soundFed]);
      // Report the root cause, not the aborts and broken pipes it caused downstream.
      const causes = [pictureError, soundError, muxed, feedError].filter((e) => e !== undefined);
      const root = causes.find((e) => !isConsequence(e)) ?? causes[0];
      if (root) throw root instanceof MediaError ? root : new MediaError('MEDIA_JOB_FAILED', `assemble: ${(root as Error).message}`, { cause: root });
    });
  } finally {
    abort.abort();
    options.signal?.removeEventListener('abort', onOuterAbort);
    await fifo.dispose();
  }
}

function isConsequence(err: unknown): boolean {
  return err instanceof MediaError ? err.code === 'MEDIA_ABORTED' || err.code === 'MEDIA_INPUT_FAILED' : true;
}
