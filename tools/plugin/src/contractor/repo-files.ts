// The few file operations the contractor core needs, over the real repository (the CLI) or an Nx
// Tree (the generator). Paths are POSIX, relative to the repository root.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { writeAtomically } from '@reelmesh/policy';

export interface RepoFiles {
  /** The file's text, or null when there is no such file. */
  read(path: string): string | null;
  /** A file or a folder. */
  exists(path: string): boolean;
  /** Every file under `dir`, recursively (none when it does not exist). */
  listFiles(dir: string): string[];
}

/** One file the plan writes (`content`) or deletes (`content: null`), with what it held before. */
export interface FileChange {
  readonly path: string;
  readonly content: string | null;
  readonly previous: string | null;
}

export function diskFiles(root: string): RepoFiles {
  return {
    read: (path) => {
      const abs = join(root, path);
      return existsSync(abs) && statSync(abs).isFile() ? readFileSync(abs, 'utf8') : null;
    },
    exists: (path) => existsSync(join(root, path)),
    listFiles: (dir) => {
      const out: string[] = [];
      const walk = (rel: string) => {
        const abs = join(root, rel);
        if (!existsSync(abs) || !statSync(abs).isDirectory()) return;
        for (const entry of readdirSync(abs, { withFileTypes: true })) {
          const path = posix.join(rel, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (entry.isFile()) out.push(path);
        }
      };
      walk(dir);
      return out.sort();
    },
  };
}

/**
 * Writes every change under `root`, all or nothing: if one write fails, every file already
 * written is put back as it was (created files and the folders they needed removed) and the
 * error is rethrown.
 */
export function applyChanges(root: string, changes: readonly FileChange[]): void {
  const done: FileChange[] = [];
  try {
    for (const change of changes) {
      put(root, change.path, change.content);
      done.push(change);
    }
  } catch (error) {
    for (const change of done.reverse()) {
      try {
        put(root, change.path, change.previous);
      } catch {
        // Keep restoring the others; the original error says what went wrong.
      }
    }
    throw error;
  }
}

function put(root: string, path: string, content: string | null): void {
  const abs = join(root, path);
  if (content !== null) {
    mkdirSync(dirname(abs), { recursive: true });
    writeAtomically(abs, content);
    return;
  }
  rmSync(abs, { force: true });
  // Folders the file leaves empty go too, so a removal leaves no trace of an addition.
  for (let dir = posix.dirname(path); dir !== '.' && dir !== '/'; dir = posix.dirname(dir)) {
    const absDir = join(root, dir);
    if (!existsSync(absDir) || readdirSync(absDir).length > 0) break;
    rmdirSync(absDir);
  }
}
