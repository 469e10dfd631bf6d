// Every process of a local run starts from a built bundle, not through tsx: tsx compiles each
// TypeScript file of the program and its libraries at every start, and with twenty-odd processes
// starting at once on two cores that was most of the mesh's start-up (docs/benchmarks.md). The
// bundles of all programs under apps/ (one file each) are built in one esbuild pass into dist/local-<build>/ and
// reused while none of their inputs changed (dist/local-index.json names the current build); a developer who edits a file gets a new build on the
// next start. REELMESH_RUN_FROM=source runs the TypeScript through tsx instead (development).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { BUNDLER_VERSION, bundleProgramSet } from '@reelmesh/deploy/bundle';
import { publishDirectory, writeFileAtomic } from '@reelmesh/storage';
import { REPO_ROOT } from './repo';

export type RunFrom = 'bundle' | 'source';

/** How processes are started: REELMESH_RUN_FROM=source (tsx, development) or bundle (the default). */
export function runFrom(env: NodeJS.ProcessEnv = process.env): RunFrom {
  const value = env.REELMESH_RUN_FROM ?? 'bundle';
  if (value !== 'bundle' && value !== 'source') throw new Error(`REELMESH_RUN_FROM must be bundle or source, got ${JSON.stringify(value)}`);
  return value;
}

/** The record of the current build: which folder, from which inputs (path, mtime, size). */
interface BuildIndex {
  key: string;
  dir: string;
  inputs: Array<[string, number, number]>;
}

/** Every program of the repository: a folder under apps/ with src/main.ts. */
export function programsOf(root: string): string[] {
  return readdirSync(join(root, 'apps'))
    .filter((name) => existsSync(join(root, 'apps', name, 'src', 'main.ts')))
    .sort();
}

/**
 * Files that change a build without being bundled: the compiler settings, the package set,
 * package.json's "sideEffects" (which lets esbuild drop the modules a program never uses), and the
 * bundler's own settings and plugins.
 */
const SETTINGS_INPUTS = ['tsconfig.json', 'package.json', 'package-lock.json', 'libs/deploy/src/bundle.ts'];

let current: Promise<Map<string, string>> | undefined;

/**
 * The node arguments that start the program whose TypeScript entry is `entry`
 * (apps/<program>/src/main.ts): its bundle, or `--import tsx <entry>` when running from source.
 * Any other entry (a test's fixture service) is not a program of the repository and runs from
 * source. Resolved once per process; a build needed by several spawns at once is made once.
 */
export async function programArgs(entry: string, root = REPO_ROOT): Promise<string[]> {
  const parts = relative(join(root, 'apps'), resolve(entry)).split(sep);
  const isProgram = parts.length === 3 && parts[1] === 'src' && parts[2] === 'main.ts' && !parts[0].startsWith('..');
  if (runFrom() === 'source' || !isProgram) return ['--import', 'tsx', entry];
  const program = parts[0];
  let bundles = await (current ??= programBundles(root));
  if (!bundles.has(program)) bundles = await (current = programBundles(root)); // a program added since
  const bundle = bundles.get(program);
  if (!bundle) throw new Error(`no program apps/${program}/src/main.ts to start (${entry})`);
  return [bundle];
}

/** Builds (or reuses) the bundles of every program; program -> absolute path of its main.cjs. */
export async function programBundles(root = REPO_ROOT): Promise<Map<string, string>> {
  const programs = programsOf(root);
  const key = createHash('sha256').update(JSON.stringify([BUNDLER_VERSION, process.version, programs, SETTINGS_INPUTS])).digest('hex').slice(0, 16);
  // Every output file sits three folders below the repository (dist/local-<build>/<program>/main.cjs), as an image's dist/apps/<program>/main.cjs does: code that finds the
  // repository from its own URL (REPO_ROOT, three levels up) finds it from a bundle too.
  const localDir = join(root, 'dist');
  const indexFile = join(localDir, 'local-index.json');
  const index = await readFile(indexFile, 'utf8').then((text) => JSON.parse(text) as BuildIndex, () => undefined);
  const mains = (dir: string) => new Map(programs.map((p) => [p, join(localDir, dir, p, 'main.cjs')]));
  if (index && index.key === key && (await unchanged(root, index))) return mains(index.dir);

  const built = await bundleProgramSet(root, programs);
  // Built aside and renamed into place: a run that started from the previous build keeps it
  // whole, and two runs building at once each get a complete folder (the index names one).
  const dir = `local-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const staging = join(localDir, `.staging-${dir}`);
  for (const file of built.files) {
    await mkdir(dirname(join(staging, file.path)), { recursive: true, mode: 0o755 });
    await writeFile(join(staging, file.path), file.contents, { mode: 0o644 });
  }
  await publishDirectory(staging, join(localDir, dir));
  const inputs = await Promise.all(
    [...built.inputs, ...SETTINGS_INPUTS].filter((input) => existsSync(join(root, input))).map(async (input): Promise<[string, number, number]> => {
      const s = await stat(join(root, input));
      return [input, s.mtimeMs, s.size];
    }),
  );
  await writeFileAtomic(indexFile, JSON.stringify({ key, dir, inputs } satisfies BuildIndex), { mode: 0o644 });
  await pruneOldBuilds(localDir, dir);
  return mains(dir);
}

/** True while every input of the indexed build is as it was (same mtime and size). */
async function unchanged(root: string, index: BuildIndex): Promise<boolean> {
  if (!existsSync(join(root, 'dist', index.dir))) return false;
  for (const [input, mtimeMs, size] of index.inputs) {
    try {
      const s = statSync(join(root, input));
      if (s.mtimeMs !== mtimeMs || s.size !== size) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Older builds go after a day: a run still going may be restarting processes from one. */
async function pruneOldBuilds(localDir: string, keep: string): Promise<void> {
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const name of await readdir(localDir)) {
    if (name === keep || !/^(local-|\.staging-local-)/.test(name)) continue;
    const path = join(localDir, name);
    const s = await stat(path).catch(() => undefined);
    if (s?.isDirectory() && s.mtimeMs < dayAgo) await rm(path, { recursive: true, force: true });
  }
}
