import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MediaError } from './errors';

export interface Fifo {
  path: string;
  /** Unblocks a writer still waiting for a reader, then removes the FIFO and its private dir. */
  dispose(): Promise<void>;
}

/** A named pipe in a private (0700) temp dir: a second streamed input or output of ffmpeg. A FIFO holds no
 * data on disk; Node has no mkfifo, so coreutils' is used. */
export async function createFifo(name: string): Promise<Fifo> {
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-fifo-'));
  const path = join(dir, name);
  try {
    await promisify(execFile)('mkfifo', ['-m', '600', path]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new MediaError('MEDIA_JOB_FAILED', `cannot create FIFO ${path}: ${(err as Error).message}`, { cause: err });
  }
  return {
    path,
    async dispose() {
      // A writer blocked in open() (its reader died before opening) is released by a reader
      // appearing, and a reader blocked in open() (ffmpeg died before opening its output) by a writer.
      const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined);
      await reader?.close();
      const writer = await open(path, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined); // ENXIO: no reader waits
      await writer?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
