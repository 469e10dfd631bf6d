// Dependency hygiene, checked against what the code really imports:
// - every program under apps/ is bundled the way its image is built (npm packages left external):
//   the packages its bundle imports must be production dependencies, and every production
//   dependency must be needed by some program, so an image (`npm ci --omit=dev`) carries nothing else;
// - every package any source file imports is declared, and every declared package is used.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@reelmesh/runtime';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const builtins = new Set(builtinModules);
/** 'pino-http/x' -> 'pino-http', '@aws-sdk/client-kms' -> itself; undefined for builtins and our own aliases. */
function packageOf(specifier: string): string | undefined {
  // A specifier built at run time (inside a template) is not an import of this file.
  if (specifier.includes('${')) return undefined;
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('@reelmesh/')) return undefined;
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  return builtins.has(name) ? undefined : name;
}

const programs = readdirSync(join(REPO_ROOT, 'apps')).filter((name) => existsSync(join(REPO_ROOT, 'apps', name, 'src', 'main.ts')));

describe('dependency hygiene', () => {
  const runtimeUse = new Map<string, Set<string>>();
  beforeAll(async () => {
    for (const program of programs) {
      const result = await build({
        absWorkingDir: REPO_ROOT,
        entryPoints: [`apps/${program}/src/main.ts`],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        packages: 'external',
        tsconfig: join(REPO_ROOT, 'tsconfig.json'),
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      for (const input of Object.values(result.metafile.inputs)) {
        for (const imported of input.imports) {
          const name = imported.external ? packageOf(imported.path) : undefined;
          if (name) runtimeUse.set(name, (runtimeUse.get(name) ?? new Set()).add(program));
        }
      }
    }
  }, 120_000);

  it('finds every deployable: agent apps and platform services', () => {
    expect(programs).toEqual(expect.arrayContaining(['proxy-sidecar', 'policy-sidecar', 'control-plane', 'kms-local', 'port-forwarder']));
    expect(runtimeUse.size).toBeGreaterThan(0);
  });

  it('images carry only runtime dependencies: what the programs import, all of it production', () => {
    const needed = [...runtimeUse.keys()].sort();
    const notProduction = needed.filter((name) => !(name in pkg.dependencies)).map((name) => `${name} (imported by ${[...runtimeUse.get(name)!].join(', ')})`);
    expect(notProduction, 'imported by a program but not a production dependency').toEqual([]);
    expect(Object.keys(pkg.dependencies).filter((name) => !runtimeUse.has(name)), 'production dependencies no program imports').toEqual([]);
  });

  it('every package imported anywhere is declared, and every declared package is used', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !f.startsWith('k8s/') && existsSync(join(REPO_ROOT, f)));
    const imported = new Map<string, string>();
    // Static imports (also across lines), side-effect imports, re-exports and dynamic imports.
    const statements = [
      /^\s*import\s+(?:type\s+)?[^'";]*?\sfrom\s+['"]([^'"]+)['"]/gm,
      /^\s*import\s+['"]([^'"]+)['"]/gm,
      /^\s*export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/gm,
      /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    ];
    for (const file of files) {
      const source = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const m of statements.flatMap((re) => [...source.matchAll(re)])) {
        const name = packageOf(m[1]);
        if (name && !imported.has(name)) imported.set(name, file);
      }
    }
    const declared = { ...pkg.dependencies, ...pkg.devDependencies };
    expect([...imported].filter(([name]) => !(name in declared)).map(([name, file]) => `${name} (in ${file})`), 'imported but not declared').toEqual([]);

    // A declared package is used if something imports it, if it provides a command our scripts,
    // project targets or CI run, or if it types a package we use (@types/x).
    const commands = [
      ...Object.values(pkg.scripts),
      readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8'),
      ...execFileSync('git', ['ls-files', '*project.json'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => readFileSync(join(REPO_ROOT, f), 'utf8')),
    ].join('\n');
    const binsOf = (name: string): string[] => {
      const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
      return typeof manifest.bin === 'string' ? [name.split('/').pop()!] : Object.keys(manifest.bin ?? {});
    };
    const unused = Object.keys(declared).filter((name) => {
      if (imported.has(name)) return false;
      if (name.startsWith('@types/')) return !(name === '@types/node' || imported.has(name.slice('@types/'.length)));
      return !binsOf(name).some((bin) => new RegExp(`(^|[\\s/"'])${bin}(\\s|$)`, 'm').test(commands));
    });
    expect(unused, 'declared but never used').toEqual([]);
  });
});
