import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Program } from '@reelmesh/http-kit';
import { moduleJobs, REPO_ROOT, type Workflow } from '@reelmesh/workflow';

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
 * Everything the workflow names is implemented here: every app has its program, and every step's
 * job is either a filter job declared in the workflow or a module of the step's app
 * (apps/<app>/src/jobs/<job>.ts). A run or a generation for a workflow that is not stops on this
 * one line (saying how to add what is missing) instead of failing later, or not at all.
 */
export function assertWorkflowImplemented(workflow: Workflow, root = REPO_ROOT): void {
  const missing = [...new Set(workflow.agents.map((a) => a.app))].filter((app) => !existsSync(agentProgram(app, root).main));
  if (missing.length > 0) {
    const lines = missing.map((app) => {
      const agents = workflow.agents.filter((a) => a.app === app).map((a) => a.name);
      return `app "${app}" (agent${agents.length > 1 ? 's' : ''} ${agents.join(', ')}) has no apps/${app}/src/main.ts`;
    });
    throw new Error(
      `the workflow names apps that do not exist: ${lines.join('; ')}. Create the app (\`reelmesh contractor add\`, or an Nx project in apps/${missing[0]}) or fix \`app:\` in the workflow`,
    );
  }
  const undefinedJobs = moduleJobs(workflow).filter(({ file }) => !existsSync(resolve(root, file)));
  if (undefinedJobs.length > 0) {
    const lines = undefinedJobs.map(({ step, file }) => `step "${step.name}" runs job "${step.job}", which is neither a filter job in the workflow's jobs: section nor a module ${file}`);
    const { step, file } = undefinedJobs[0];
    throw new Error(
      `${lines.join('; ')}. Add it as a filter job (under jobs: - { name: ${step.job}, filter: "<ffmpeg filter graph>" }) or write ${file} and register it in the app's handlers (docs/contractors.md)`,
    );
  }
}
