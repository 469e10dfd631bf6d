import { readFileSync } from 'node:fs';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import { parse } from 'yaml';

// Module boundaries on two axes: scope (who owns it) and type (what it is).
// Agent apps never import the platform (mesh, local KMS, runtime): they only know configuration.
// The runtime (type:runtime) starts the platform's deployables, so it imports their program entry
// (each service's index.ts exports only that): those imports are allowed to the runtime and the
// tools, and to nobody else.
const SERVICE_ENTRIES = ['proxy-sidecar', 'policy-sidecar', 'control-plane', 'kms-local', 'port-forwarder'].map((name) => `@reelmesh/app-${name}`);

// Each actor of the workflow (policies/workflow.yaml) owns the projects tagged scope:<actor>, which may
// depend on shared code only: the scopes follow the workflow's actors, never a list written here.
const RESERVED_SCOPES = ['shared', 'platform', 'tooling'];
const ACTOR_SCOPES = (() => {
  const file = new URL('./policies/workflow.yaml', import.meta.url);
  const actors = parse(readFileSync(file, 'utf8'))?.actors;
  if (!Array.isArray(actors) || actors.length === 0) throw new Error(`eslint.config.mjs: no actors in ${file.pathname}`);
  return actors.map(({ name }) => {
    if (RESERVED_SCOPES.includes(name)) throw new Error(`eslint.config.mjs: actor "${name}" in ${file.pathname} clashes with the scope:${name} tag`);
    return `scope:${name}`;
  });
})();

export default [
  { ignores: ['**/node_modules/**', '**/dist/**', 'out/**', '.nx/**', 'bench-out/**', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: SERVICE_ENTRIES,
          banTransitiveDependencies: false,
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:util'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:util'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:runtime', onlyDependOnLibsWithTags: ['type:lib', 'type:util', 'type:app'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:util', 'type:app', 'type:runtime', 'type:tool'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['scope:shared', 'scope:platform'] },
            ...ACTOR_SCOPES.map((sourceTag) => ({ sourceTag, onlyDependOnLibsWithTags: ['scope:shared'] })),
            { sourceTag: 'scope:tooling', onlyDependOnLibsWithTags: ['scope:shared', 'scope:platform', ...ACTOR_SCOPES, 'scope:tooling'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['libs/runtime/**', 'tools/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: SERVICE_ENTRIES.map((name) => ({ name, message: 'only the runtime (and the tools) start the platform services' })) },
      ],
    },
  },
];
