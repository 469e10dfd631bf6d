// How a program becomes one bundle: the Nx `build` target of every app (one esbuild bundle for its
// image, npm packages left as imports resolved from the image's production node_modules, so
// native binaries such as ffmpeg stay packages) and the local runtime's bundles (every program
// at once, npm packages inlined too, each program complete in one file): the same esbuild
// settings for both, kept here.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv, type Options } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { build, version as esbuildVersion, type BuildOptions, type Metafile, type OutputFile, type Plugin } from 'esbuild';
import { isName } from '@reelmesh/addressing';

/** Entry point of a program (an agent app or a platform service): every deployable is apps/<name>. */
export function entryOf(program: string): string {
  if (!isName(program)) throw new Error(`invalid program name ${JSON.stringify(program)}`);
  return `apps/${program}/src/main.ts`;
}

/**
 * Packages never inlined: the ffmpeg installers find a binary of their own on disk, and
 * fluent-ffmpeg (its presets folder) and pino (its transport workers) locate files next to their
 * own code through __dirname, which inlined would name the bundle's folder. They load from node_modules.
 */
const KEEP_EXTERNAL = ['@ffmpeg-installer/*', '@ffprobe-installer/*', 'fluent-ffmpeg', 'pino', 'thread-stream'];

/**
 * The JSON Schema validators, compiled at build time. A `*.validator.ts` file of a library exports
 * `schema` (plain JSON), `ajvOptions` and `validator()` (ajv compiles the schema at first use, from
 * source). In a bundle it becomes ajv's standalone code for the same schema and options, with the
 * same three exports: a program carries ajv's small runtime helpers instead of its compiler and
 * compiles no schema when it starts (the workflow's, the handoff manifest's and the agent
 * configuration's: about a tenth of an agent's start-up CPU). Same errors either way
 * (validators.spec).
 */
export async function precompiledValidatorModule(file: string): Promise<string> {
  const source = readFileSync(file, 'utf8');
  const spec = (await import(pathToFileURL(file).href)) as { schema?: object; ajvOptions?: Options };
  if (!spec.schema || !spec.ajvOptions) throw new Error(`${file}: a *.validator.ts file exports schema and ajvOptions`);
  const ajv = new Ajv({ ...spec.ajvOptions, code: { source: true, esm: true } });
  const compiled = ajv.compile(spec.schema);
  // What the schema is made of stays among the build's inputs (a changed one rebuilds the bundles):
  // every module the file imports for its values, re-exported under names nothing uses.
  const inputs = [...source.matchAll(/^import (?!type\b)[^;]*? from '([^']+)';$/gm)].map((m) => m[1]).filter((spec) => spec !== 'ajv');
  // ajv's runtime helpers come as require() calls: ES imports instead, which a bundle with its
  // packages left external (an image's) can load too.
  const helpers: string[] = [];
  const code = standaloneCode(ajv, compiled).replace(/require\("(ajv\/dist\/runtime\/[\w/-]+?)(?:\.js)?"\)/g, (_, path: string) => {
    const at = helpers.indexOf(path) >= 0 ? helpers.indexOf(path) : helpers.push(path) - 1;
    return `ajvRuntime${at}`;
  });
  return [
    `// ${relative(process.cwd(), file)} precompiled at build time by ajv's standalone code (libs/deploy/src/bundle.ts).`,
    ...helpers.map((path, n) => `import ajvRuntime${n} from ${JSON.stringify(`${path}.js`)};`),
    code,
    'export function validator() { return validate; }',
    `export const schema = ${JSON.stringify(spec.schema)};`,
    `export const ajvOptions = ${JSON.stringify(spec.ajvOptions)};`,
    ...inputs.map((input, n) => `export * as __schemaInput${n} from ${JSON.stringify(input)};`),
    '',
  ].join('\n');
}

/** The esbuild plugin that swaps every `*.validator.ts` of the libraries for its precompiled module. */
export function precompiledValidators(repoRoot: string): Plugin {
  return {
    name: 'reelmesh-precompiled-validators',
    setup(b) {
      b.onLoad({ filter: /\.validator\.ts$/ }, async (args) =>
        args.path.startsWith(join(repoRoot, 'libs')) ? { contents: await precompiledValidatorModule(args.path), loader: 'js', resolveDir: dirname(args.path) } : undefined,
      );
    },
  };
}

/**
 * CommonJS, not an ES module: node starts a CommonJS file without its ES module loader, about 9 ms
 * of CPU less at every start (a policy sidecar: 44.7 vs 35.5 ms to its configuration check,
 * docs/benchmarks.md). Code that finds files from its own URL (`import.meta.url`) gets the
 * bundle's URL.
 */
function baseOptions(repoRoot: string): BuildOptions {
  return {
    plugins: [precompiledValidators(repoRoot)],
    absWorkingDir: repoRoot,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    tsconfig: join(repoRoot, 'tsconfig.json'),
    logLevel: 'warning',
    define: { 'import.meta.url': '__reelmeshModuleUrl' },
    banner: { js: 'const __reelmeshModuleUrl = require("node:url").pathToFileURL(module.filename).href;' },
  };
}

export interface BundleOptions {
  repoRoot: string;
  program: string;
  /** Output file; default <repoRoot>/dist/apps/<program>/main.cjs. */
  outfile?: string;
}

export async function bundleProgram({ repoRoot, program, outfile }: BundleOptions): Promise<string> {
  const out = outfile ?? join(repoRoot, 'dist', 'apps', program, 'main.cjs');
  mkdirSync(dirname(out), { recursive: true });
  await build({ ...baseOptions(repoRoot), entryPoints: [entryOf(program)], outfile: out, packages: 'external', sourcemap: 'linked' });
  return out;
}

/** The local runtime's bundles of `programs`, not yet written: one `<program>/main.cjs` each. */
export interface ProgramSet {
  /** Output path relative to the output folder -> contents. */
  files: Array<{ path: string; contents: Uint8Array }>;
  /** Every file the bundles were made from, relative to repoRoot (sources and inlined packages). */
  inputs: string[];
}

/**
 * Everything the local runtime starts, bundled in one esbuild pass with npm packages inlined:
 * a process then loads a few large files instead of resolving and compiling a thousand (tsx
 * compiles TypeScript at every start). Each program gets one file holding only the code it uses:
 * no chunks shared between programs. esbuild assigns whole files to shared chunks, and a library's
 * index re-exports every file of the library, so with shared chunks the policy sidecar loaded the
 * X.509 stack, the YAML parser and the schema validator it never calls (1.4 MB, against 0.6 MB
 * alone) and spent a third more CPU starting (docs/benchmarks.md). Tree shaking within one
 * program's bundle drops them.
 */
export async function bundleProgramSet(repoRoot: string, programs: string[]): Promise<ProgramSet> {
  const result = await build({
    ...baseOptions(repoRoot),
    entryPoints: Object.fromEntries(programs.map((p) => [`${p}/main`, entryOf(p)])),
    outdir: join(repoRoot, '.bundle-out'), // never written (write: false): names the outputs only
    outExtension: { '.js': '.cjs' },
    splitting: false,
    write: false,
    metafile: true,
    external: KEEP_EXTERNAL,
  });
  const outRoot = join(repoRoot, '.bundle-out');
  return {
    files: result.outputFiles.map((f: OutputFile) => ({ path: f.path.slice(outRoot.length + 1), contents: f.contents })),
    inputs: Object.keys((result.metafile as Metafile).inputs),
  };
}

/** What makes two program sets differ besides their inputs: the bundler and its settings. */
export const BUNDLER_VERSION = `esbuild ${esbuildVersion}; externals ${KEEP_EXTERNAL.join(',')}; esm one file per program, precompiled validators v3`;
