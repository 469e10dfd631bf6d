import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { loudnessJob } from './jobs/loudness';

/** Sound mastering: programme loudness to the workflow's EBU R128 target (./jobs/loudness). */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({ config, deps, handlers: { loudness: loudnessJob(deps) } });
}
