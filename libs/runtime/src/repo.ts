import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives at libs/runtime/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The TypeScript entry of an app, run with tsx. */
export function appMain(app: string): string {
  return resolve(REPO_ROOT, 'apps', app, 'src', 'main.ts');
}
