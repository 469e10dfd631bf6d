import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Runs produce(partialPath) and renames the result onto finalPath only if it succeeded;
 * on failure the partial file is removed, so readers never see a half-written file. */
export async function produceAtomically<T>(finalPath: string, produce: (partialPath: string) => Promise<T>): Promise<T> {
  const partialPath = join(dirname(finalPath), `.${basename(finalPath)}.partial-${randomBytes(6).toString('hex')}`);
  try {
    const result = await produce(partialPath);
    await rename(partialPath, finalPath);
    return result;
  } catch (err) {
    await rm(partialPath, { force: true });
    throw err;
  }
}
