import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Program } from '@reelmesh/http-kit';
import { REPO_ROOT, type Workflow } from '@reelmesh/workflow';

export { REPO_ROOT } from '@reelmesh/workflow';

/**
 * The program of a workflow app: apps/<app>/src/main.ts. Agent apps are named by the workflow file
 * (a new contractor is one entry there plus one app), so they are found by this convention; the
 * platform's own services are imported by name (@reelmesh/app-proxy-sidecar, ...).
 */
export function agentProgram(app: string, root = REPO_ROOT): Program {
  return { name: app, main: resolve(root, 'apps', app, 'src', 'main.ts') };
}

/**
 * Every app the workflow names that has no program here, with the agents that run it; a run or a
 * generation for such a workflow stops on this one line instead of failing later, or not at all.
 */
export function assertAgentAppsExist(workflow: Workflow, root = REPO_ROOT): void {
  const missing = [...new Set(workflow.agents.map((a) => a.app))].filter((app) => !existsSync(agentProgram(app, root).main));
  if (missing.length === 0) return;
  const lines = missing.map((app) => {
    const agents = workflow.agents.filter((a) => a.app === app).map((a) => a.name);
    return `app "${app}" (agent${agents.length > 1 ? 's' : ''} ${agents.join(', ')}) has no apps/${app}/src/main.ts`;
  });
  throw new Error(`the workflow names apps that do not exist: ${lines.join('; ')}. Create the app (an Nx project in apps/${missing[0]}) or fix \`app:\` in the workflow`);
}
