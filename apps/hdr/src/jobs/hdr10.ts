import type { AgentDeps, JobHandler } from '@reelmesh/agent-kit';
import { hdr10 } from '@reelmesh/media';

/** SDR -> HDR10 (BT.2020, PQ, 10-bit HEVC with mastering-display and MaxCLL metadata). */
export function hdr10Job(deps: AgentDeps): JobHandler {
  return ({ inputs, outputs }) => hdr10(inputs.picture, outputs.picture, deps.workflow.media);
}
