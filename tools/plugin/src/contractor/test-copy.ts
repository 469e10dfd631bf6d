// For specs: a temporary copy of (part of) the repository, and a hash of every file in a tree,
// so a spec can change the copy and compare it byte for byte. Never writes into the repository.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { loadWorkflow, REPO_ROOT } from '@reelmesh/workflow';

/** The files of the working tree (tracked and untracked, not ignored) under `prefixes`, copied to a new temp folder. */
export function copyRepo(prefixes: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'contractor-'));
  const listed = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z', '--', ...prefixes], { cwd: REPO_ROOT, encoding: 'utf8' });
  for (const path of new Set(listed.split('\0').filter(Boolean))) {
    const from = join(REPO_ROOT, path);
    if (existsSync(from) && statSync(from).isFile()) cpSync(from, join(dir, path));
  }
  return dir;
}

/** Every file under `dir` (node_modules aside) and the sha256 of its bytes, sorted by path. */
export function treeHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : posix.join(rel, entry.name);
      if (entry.name === 'node_modules') continue;
      if (entry.isDirectory()) walk(path);
      else out[path] = createHash('sha256').update(readFileSync(join(dir, path))).digest('hex');
    }
  };
  walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Every folder under `dir` (empty ones included), so a spec can see that nothing is left behind. */
export function treeFolders(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === 'node_modules') continue;
      const path = rel === '' ? entry.name : posix.join(rel, entry.name);
      out.push(path);
      walk(path);
    }
  };
  walk('');
  return out.sort();
}

/**
 * `base`, or `base-2`, `base-3`, …: the first contractor name the repository's workflow does not use
 * yet (agent, step, actor, app folder or job). A spec that adds a contractor must not clash with one
 * a developer already added.
 */
export function unusedName(base: string, root: string = REPO_ROOT): string {
  const workflow = loadWorkflow(join(root, 'policies/workflow.yaml'));
  const used = new Set([
    ...workflow.agents.flatMap((agent) => [agent.name, agent.app]),
    ...workflow.steps.flatMap((step) => [step.name, step.job]),
    ...workflow.actors.map((actor) => actor.name),
    ...(workflow.jobs ?? []).map((job) => job.name),
    ...readdirSync(join(root, 'apps')),
  ]);
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    if (!used.has(name)) return name;
  }
}
