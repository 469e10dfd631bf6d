import { filterJob } from '@reelmesh/media';
import { filterJobOf, type Workflow } from '@reelmesh/workflow';
import type { StepHandlers } from './agent-runtime';

/**
 * The app's handlers plus one for each filter job (declared in the workflow's `jobs:` section) that
 * `agent`'s steps run: the step's one input artifact goes through the chain and is handed on under
 * the same name, in the format it came in (filterJob in @reelmesh/media). A job that is both a
 * filter job and one of the app's handlers is ambiguous and refused.
 */
export function withFilterJobs(workflow: Workflow, agent: string, handlers: StepHandlers): StepHandlers {
  const all: StepHandlers = { ...handlers };
  for (const step of workflow.steps.filter((s) => s.agent === agent)) {
    const job = filterJobOf(workflow, step.job);
    if (!job) continue;
    if (job.name in handlers) throw new Error(`job "${job.name}" is both a filter job in the workflow and a handler of agent ${agent}'s app: rename one`);
    const artifact = workflow.edges.find((edge) => edge.to === step.name)?.artifact as string;
    all[job.name] = ({ inputs, outputs }) => filterJob(inputs[artifact], outputs[artifact], { filter: job.filter, media: workflow.media, name: job.name });
  }
  return all;
}
