import type { AgentDeps, JobHandler } from '@reelmesh/agent-kit';
import { soundFx } from '@reelmesh/media';

/** Sound effects on each sound chunk, handed on as PCM. */
export function soundFxJob(deps: AgentDeps): JobHandler {
  return ({ inputs, outputs }) => soundFx(inputs.sound, outputs.sound, deps.workflow.media);
}
