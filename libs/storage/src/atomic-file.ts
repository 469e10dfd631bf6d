// The one way a file is published so that nobody ever sees it half-written, even after a crash or
// power loss: write a hidden partial file beside the target, fsync it, rename it over the target,
// fsync the folder (so the rename itself is durable). On failure the partial file is removed.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { link, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Partial files start with this, so listings can skip them. */
export const PARTIAL_PREFIX = '.partial-';

/** A fresh hidden partial path beside `target`. */
export function partialPathOf(target: string): string {
  return join(dirname(target), `${PARTIAL_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}`);
}

/**
 * Make a fully written partial file the target: fsync it, rename it over the target (or, when
 * `exclusive`, link it there and fail with EEXIST if a target exists), fsync the folder.
 */
export async function publishFile(partial: string, target: string, exclusive = false): Promise<void> {
  const file = await open(partial, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  if (exclusive) {
    await link(partial, target);
    await rm(partial, { force: true });
  } else {
    await rename(partial, target);
  }
  const folder = await open(dirname(target), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

export function publishFileSync(partial: string, target: string, exclusive = false): void {
  syncPathSync(partial);
  if (exclusive) {
    linkSync(partial, target);
    rmSync(partial, { force: true });
  } else {
    renameSync(partial, target);
  }
  syncPathSync(dirname(target));
}

/**
 * Make a fully written folder `target` in one step (a rename; fails if `target` exists): a reader
 * finds the whole folder or none. Not fsynced: for what can be made again (a build cache).
 */
export async function publishDirectory(staging: string, target: string): Promise<void> {
  await rename(staging, target);
}

/**
 * Point the symbolic link `link` at `target` in one step (a new link beside it, renamed over it):
 * a reader through `link` finds the old target or the new one, never no link. `target` is stored
 * as given (a relative one resolves from the link's folder wherever that folder is mounted).
 */
export function swapSymlinkSync(target: string, link: string): void {
  const next = partialPathOf(link);
  symlinkSync(target, next);
  try {
    renameSync(next, link);
  } catch (error) {
    rmSync(next, { force: true });
    throw error;
  }
  syncPathSync(dirname(link));
}

function syncPathSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface AtomicWriteOptions {
  /** File mode of the published file (default 0o600: private unless said otherwise). */
  mode?: number;
  /** Never replace an existing file: fail with EEXIST instead (two writers never both win). */
  exclusive?: boolean;
}

/** Write `data` to `path` atomically and durably. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  await produceFileAtomically(path, (partial) => writeFile(partial, data, { mode: options.mode ?? 0o600, flag: 'wx' }), options.exclusive);
}

/** The synchronous twin, for exit paths and generators that stay synchronous. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const partial = partialPathOf(path);
  try {
    writeFileSync(partial, data, { mode: options.mode ?? 0o600, flag: 'wx' });
    publishFileSync(partial, path, options.exclusive);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/**
 * For a file another writer makes (ffmpeg writes to a path): `produce(partialPath)` writes it, and
 * only if that succeeds is it published as `path`; otherwise the partial file is removed.
 */
export async function produceFileAtomically<T>(path: string, produce: (partialPath: string) => Promise<T>, exclusive = false): Promise<T> {
  const partial = partialPathOf(path);
  try {
    const result = await produce(partial);
    await publishFile(partial, path, exclusive);
    return result;
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
