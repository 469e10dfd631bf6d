// `tsx libs/deploy/src/build-main.ts <program>`: the Nx build target (dist/apps/<program>/main.mjs).
import { fileURLToPath } from 'node:url';
import { bundleProgram } from './bundle';

const program = process.argv[2];
if (!program) {
  process.stderr.write('usage: build-main.ts <app|kms-local>\n');
  process.exit(2);
}
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
bundleProgram({ repoRoot, program }).then(
  (out) => process.stdout.write(`${out}\n`),
  (error: unknown) => {
    process.stderr.write(`build: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
