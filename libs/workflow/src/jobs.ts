// Which job a step runs: a filter job declared in the workflow, or a job module of the step's app.
import type { FilterJob, Step, Workflow } from './types';

/** The filter job named `job` in the workflow's `jobs:` section, if it is one. */
export function filterJobOf(workflow: Workflow, job: string): FilterJob | undefined {
  return workflow.jobs?.find((candidate) => candidate.name === job);
}

/** Where a module job lives, relative to the repository root (docs/contractors.md). */
export function jobModuleFile(app: string, job: string): string {
  return `apps/${app}/src/jobs/${job}.ts`;
}

/** The steps whose job is not a filter job, each with the app that must provide its module. */
export function moduleJobs(workflow: Workflow): Array<{ step: Step; app: string; file: string }> {
  const appOf = new Map(workflow.agents.map((agent) => [agent.name, agent.app]));
  return workflow.steps
    .filter((step) => !filterJobOf(workflow, step.job))
    .map((step) => {
      const app = appOf.get(step.agent) as string;
      return { step, app, file: jobModuleFile(app, step.job) };
    });
}
