import type { AgentDeps, JobHandler } from '@reelmesh/agent-kit';
import { pictureFx } from '@reelmesh/media';

/** Picture effects on each picture chunk, handed on in the workflow's mezzanine. */
export function pictureFxJob(deps: AgentDeps): JobHandler {
  return ({ inputs, outputs }) => pictureFx(inputs.picture, outputs.picture, deps.workflow.media);
}
