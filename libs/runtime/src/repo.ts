import { resolve } from 'node:path';
import type { Program } from '@reelmesh/http-kit';
import { REPO_ROOT } from '@reelmesh/workflow';

export { REPO_ROOT } from '@reelmesh/workflow';

/**
 * The program of a workflow app: apps/<app>/src/main.ts. Agent apps are named by the workflow file
 * (a new contractor is one entry there plus one app), so they are found by this convention; the
 * platform's own services are imported by name (@reelmesh/app-proxy-sidecar, ...).
 */
export function agentProgram(app: string): Program {
  return { name: app, main: resolve(REPO_ROOT, 'apps', app, 'src', 'main.ts') };
}
