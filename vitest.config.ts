import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Resolve @reelmesh/* through tsconfig.base.json so there is one list of aliases.
const root = dirname(fileURLToPath(import.meta.url));
const base = JSON.parse(readFileSync(resolve(root, 'tsconfig.base.json'), 'utf8'));
const alias = Object.fromEntries(
  Object.entries(base.compilerOptions.paths as Record<string, string[]>).map(([name, [target]]) => [
    name,
    resolve(root, target),
  ]),
);

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['{apps,libs,tools}/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
