import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Resolve @reelmesh/* through tsconfig.base.json so there is one list of aliases.
const root = dirname(fileURLToPath(import.meta.url));
const base = JSON.parse(readFileSync(resolve(root, 'tsconfig.base.json'), 'utf8'));
// Longest names first, so '@reelmesh/agent-kit/testing' is not taken for '@reelmesh/agent-kit' + '/testing'.
const alias = Object.entries(base.compilerOptions.paths as Record<string, string[]>)
  .sort(([a], [b]) => b.length - a.length)
  .map(([find, [target]]) => ({ find, replacement: resolve(root, target) }));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['{apps,libs,tools}/**/*.spec.ts'],
    globalSetup: ['vitest.global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
