import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { hdr10 } from '@reelmesh/media';

/** SDR -> HDR10 (BT.2020, PQ, 10-bit HEVC with mastering-display and MaxCLL metadata). */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({
    config,
    deps,
    handlers: {
      hdr10: ({ inputs, outputs }) => hdr10(inputs.picture, outputs.picture, deps.workflow.media),
    },
  });
}
