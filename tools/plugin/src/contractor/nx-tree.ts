// The contractor core over an Nx Tree: the generators read through it and write the plan into it,
// so Nx prints the changes, and `--dry-run` writes nothing.
import type { Tree } from '@nx/devkit';
import type { FileChange, RepoFiles } from './repo-files';

export function treeFiles(tree: Tree): RepoFiles {
  const listFiles = (dir: string): string[] => {
    if (!tree.exists(dir) || tree.isFile(dir)) return [];
    return tree
      .children(dir)
      .flatMap((child) => {
        const path = `${dir}/${child}`;
        return tree.isFile(path) ? [path] : listFiles(path);
      })
      .sort();
  };
  return {
    read: (path) => (tree.exists(path) && tree.isFile(path) ? (tree.read(path, 'utf-8') ?? null) : null),
    exists: (path) => tree.exists(path),
    listFiles,
  };
}

export function applyToTree(tree: Tree, changes: readonly FileChange[]): void {
  for (const change of changes) {
    if (change.content === null) tree.delete(change.path);
    else tree.write(change.path, change.content);
  }
}
