// Processes start from bundles built once and reused while their inputs are unchanged: a small
// repository of two programs sharing a library, built, run with plain node, edited, rebuilt.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { programArgs, programBundles, programsOf, runFrom } from './bundles';
import { REPO_ROOT } from './repo';

const root = mkdtempSync(join(tmpdir(), 'reelmesh-bundles-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

write('tsconfig.json', JSON.stringify({ compilerOptions: { target: 'es2022', module: 'esnext', moduleResolution: 'bundler', baseUrl: '.', paths: { '@x/greeting': ['libs/greeting/index.ts'] } } }));
write('libs/greeting/index.ts', "export const greeting = (who: string): string => `hello ${who}`;\n");
write('apps/alpha/src/main.ts', "import { greeting } from '@x/greeting';\nconsole.log(greeting('alpha'), process.argv.slice(2).join(' '));\n");
write('apps/beta/src/main.ts', "import { greeting } from '@x/greeting';\nconsole.log(greeting('beta'));\n");
// A library whose index re-exports a file only one program uses: the other does not carry it.
write('libs/tools/light.ts', "export const light = (): string => 'light';\n");
write('libs/tools/heavy.ts', "export const heavy = (): string => 'HEAVY-' + 'x'.repeat(3);\n");
write('libs/tools/index.ts', "export { light } from './light';\nexport { heavy } from './heavy';\n");
write('apps/delta/src/main.ts', "import { light } from '../../../libs/tools';\nconsole.log(light());\n");
write('apps/epsilon/src/main.ts', "import { heavy, light } from '../../../libs/tools';\nconsole.log(heavy(), light());\n");
mkdirSync(join(root, 'apps', 'not-a-program')); // no src/main.ts: not started, not built

const run = (bundle: string, ...args: string[]) => execFileSync(process.execPath, [bundle, ...args], { encoding: 'utf8' }).trim();

describe('program bundles', () => {
  it('builds every program of apps/ once, runs under plain node, and reuses the build while nothing changed', async () => {
    expect(programsOf(root)).toEqual(['alpha', 'beta', 'delta', 'epsilon']);
    const first = await programBundles(root);
    expect([...first.keys()]).toEqual(['alpha', 'beta', 'delta', 'epsilon']);
    expect(run(first.get('alpha')!, '--flag', 'x')).toBe('hello alpha --flag x');
    expect(run(first.get('beta')!)).toBe('hello beta');
    expect(await programBundles(root)).toEqual(first); // same folder: nothing rebuilt
  });

  it('gives each program one file with only the code it uses, even from a library index that re-exports more', async () => {
    const bundles = await programBundles(root);
    expect(run(bundles.get('delta')!)).toBe('light');
    expect(run(bundles.get('epsilon')!)).toBe('HEAVY-xxx light');
    expect(readFileSync(bundles.get('delta')!, 'utf8')).not.toContain('HEAVY-');
    expect(readdirSync(join(bundles.get('delta')!, '..', '..')).sort()).toEqual(['alpha', 'beta', 'delta', 'epsilon']);
  });

  it('rebuilds when a source changes, and when a program is added', async () => {
    const before = await programBundles(root);
    write('libs/greeting/index.ts', "export const greeting = (who: string): string => `hi ${who}!`;\n");
    const edited = await programBundles(root);
    expect(edited.get('alpha')).not.toBe(before.get('alpha'));
    expect(run(edited.get('alpha')!)).toBe('hi alpha!');
    expect(run(before.get('alpha')!)).toBe('hello alpha'); // a run still using the old build keeps it whole

    write('apps/gamma/src/main.ts', "console.log('gamma');\n");
    const added = await programBundles(root);
    expect(run(added.get('gamma')!)).toBe('gamma');
  });

  it('gives node the bundle, or tsx and the entry when running from source; refuses another mode', async () => {
    const entry = join(root, 'apps', 'beta', 'src', 'main.ts');
    const [bundle] = await programArgs(entry, root);
    expect(run(bundle)).toBe('hi beta!');
    const saved = process.env.REELMESH_RUN_FROM;
    try {
      process.env.REELMESH_RUN_FROM = 'source';
      expect(await programArgs(entry, root)).toEqual(['--import', 'tsx', entry]);
    } finally {
      if (saved === undefined) delete process.env.REELMESH_RUN_FROM;
      else process.env.REELMESH_RUN_FROM = saved;
    }
    expect(() => runFrom({ REELMESH_RUN_FROM: 'docker' })).toThrow(/REELMESH_RUN_FROM must be bundle or source/);
    await expect(programArgs(join(root, 'apps', 'nope', 'src', 'main.ts'), root)).rejects.toThrow(/no program apps\/nope/);
    // Not a program of the repository (a test's fixture service): run from source.
    const fixture = join(root, 'libs', 'greeting', 'fixture.ts');
    expect(await programArgs(fixture, root)).toEqual(['--import', 'tsx', fixture]);
  });

  it("the repository's own bundles use no __dirname or __filename (an inlined package's would name the bundle's folder: a package using them stays external)", async () => {
    const bundles = await programBundles(REPO_ROOT);
    expect([...bundles.keys()]).toEqual(programsOf(REPO_ROOT));
    const buildDir = join(bundles.get(programsOf(REPO_ROOT)[0])!, '..', '..');
    const files = readdirSync(buildDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.cjs'));
    const offenders = files.filter((f) => /\b__(dirname|filename)\b/.test(readFileSync(join(buildDir, f), 'utf8')));
    expect(offenders).toEqual([]);
    // Three folders below the repository, like an image's dist/apps/<program>/main.cjs: code that
    // finds the repository from its own URL (REPO_ROOT) finds it from any bundle.
    for (const f of files) expect(join(buildDir, f).slice(REPO_ROOT.replace(/\/$/, '').length + 1).split('/'), f).toHaveLength(4);
    // One file per program: nothing another program needs is loaded with it.
    expect(files.sort()).toEqual(programsOf(REPO_ROOT).map((p) => join(p, 'main.cjs')).sort());
    // The X.509/ASN.1 stack is for issuing certificates: only the control plane (the mesh CA)
    // carries it. The readers of the SVID profile (proxies, agents, the ledger) check certificates
    // with node's X.509 and certificate-extensions.ts; with it, it was most of a proxy's start-up.
    const carriers = files.filter((f) => /node_modules\/@peculiar\/x509\//.test(readFileSync(join(buildDir, f), 'utf8')));
    expect(carriers).toEqual(['control-plane/main.cjs']);
    const sidecar = readFileSync(bundles.get('policy-sidecar')!, 'utf8');
    // It takes policy data, not a workflow file: no YAML parser either (the agents have one).
    expect(sidecar).not.toMatch(/node_modules\/yaml\//);
    expect(readFileSync(bundles.get('owner')!, 'utf8')).toMatch(/node_modules\/yaml\//);
    // JSON Schemas are compiled at build time: no program carries ajv's compiler.
    for (const f of files) expect(readFileSync(join(buildDir, f), 'utf8'), f).not.toMatch(/node_modules\/ajv\/dist\/compile\/index\.js/);
  }, 120_000);

  it("an agent's start loads neither fluent-ffmpeg nor the KMS SDK: they load at first use", async () => {
    const bundles = await programBundles(REPO_ROOT);
    // The agents: the programs that run ffmpeg jobs. Without a configuration each evaluates its
    // whole bundle and stops at its configuration check, as far as a start goes before it is ready.
    const agents = [...bundles].filter(([, file]) => readFileSync(file, 'utf8').includes('import("fluent-ffmpeg")'));
    expect(agents.length).toBeGreaterThan(0);
    for (const [program, file] of agents) {
      const profDir = mkdtempSync(join(root, 'prof-'));
      const child = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '50', file], {
        encoding: 'utf8',
        env: { ...process.env, NODE_DEBUG: 'module' },
      });
      expect(child.stderr, program).toContain('CONFIG_INVALID');
      // Packages outside the bundle: node's module loader logs each one it loads.
      const loaded = child.stderr.split('\n').filter((l) => l.startsWith('MODULE') && / load "/.test(l));
      expect(loaded.some((l) => l.includes('/node_modules/pino/')), `${program} loads pino (the check sees loads)`).toBe(true);
      expect(loaded.filter((l) => l.includes('/node_modules/fluent-ffmpeg/')), program).toEqual([]);
      // Packages inside it: esbuild names each CommonJS module's wrapper by its path, and the
      // profile (a sample every 50 µs) holds every function that ran for longer than that.
      const [prof] = readdirSync(profDir);
      const ran = new Set((JSON.parse(readFileSync(join(profDir, prof), 'utf8')) as { nodes: Array<{ callFrame: { functionName: string } }> }).nodes.map((n) => n.callFrame.functionName));
      expect([...ran].some((f) => f.startsWith('node_modules/express/')), `${program} runs express at start (the check sees evaluation)`).toBe(true);
      expect([...ran].filter((f) => f.startsWith('node_modules/@aws-sdk/client-kms/')), program).toEqual([]);
    }
  }, 120_000);
});
