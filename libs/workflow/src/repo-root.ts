import { fileURLToPath } from 'node:url';

/**
 * The repository root, found from this file so it works from any cwd: the one place that knows
 * where the owner's policies/ folder (the workflow file, the Rego, the generated data) lives.
 * On its own, without the YAML parser and the schema, so a program that only needs a path (the
 * policy sidecar) does not load them.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
