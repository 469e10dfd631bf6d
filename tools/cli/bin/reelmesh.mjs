#!/usr/bin/env node
// The `reelmesh` CLI: TypeScript sources run through tsx, with the workspace's path aliases.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
register({ tsconfig: resolve(root, 'tsconfig.json') });
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv);
