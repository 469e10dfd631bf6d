import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries on two axes: scope (who owns it) and type (what it is).
// Agent apps never import the platform (mesh, local KMS, runtime): they only know configuration.
// The runtime (type:runtime) starts the platform's deployables, so it imports their program entry
// (each service's index.ts exports only that): those imports are allowed to the runtime and the
// tools, and to nobody else.
const SERVICE_ENTRIES = ['proxy-sidecar', 'policy-sidecar', 'control-plane', 'kms-local', 'port-forwarder'].map((name) => `@reelmesh/app-${name}`);

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
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:util', 'type:app', 'type:runtime'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['scope:shared', 'scope:platform'] },
            { sourceTag: 'scope:owner', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:vfx', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:color', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:hdr', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:sound', onlyDependOnLibsWithTags: ['scope:shared'] },
            {
              sourceTag: 'scope:tooling',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:platform', 'scope:owner', 'scope:vfx', 'scope:color', 'scope:hdr', 'scope:sound', 'scope:tooling'],
            },
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
