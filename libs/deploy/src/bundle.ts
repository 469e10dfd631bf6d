// The Nx `build` target of every app: one esbuild bundle of the program and the workspace libs it
// imports (via the tsconfig path aliases), with npm packages left as imports, resolved at run time
// from the image's production node_modules (native binaries such as ffmpeg stay packages).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { isName } from '@reelmesh/addressing';

/** Entry point of a program (an agent app or a platform service): every deployable is apps/<name>. */
export function entryOf(program: string): string {
  if (!isName(program)) throw new Error(`invalid program name ${JSON.stringify(program)}`);
  return `apps/${program}/src/main.ts`;
}

export interface BundleOptions {
  repoRoot: string;
  program: string;
  /** Output file; default <repoRoot>/dist/apps/<program>/main.mjs. */
  outfile?: string;
}

export async function bundleProgram({ repoRoot, program, outfile }: BundleOptions): Promise<string> {
  const out = outfile ?? join(repoRoot, 'dist', 'apps', program, 'main.mjs');
  mkdirSync(dirname(out), { recursive: true });
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [entryOf(program)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: join(repoRoot, 'tsconfig.json'),
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return out;
}
