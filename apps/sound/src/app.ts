import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { masterLoudness } from '@reelmesh/media';

/** Sound mastering: compression, EBU R128 loudness and a true-peak ceiling, per chunk. */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({
    config,
    deps,
    handlers: {
      loudness: ({ inputs, outputs }) => masterLoudness(inputs.sound, outputs.sound, deps.workflow.media),
    },
  });
}
