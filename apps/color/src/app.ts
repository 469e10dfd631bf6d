import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { gradeJob } from './jobs/grade';

/** The colourist: grades with its own sealed LUT (./jobs/grade). */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({ config, deps, handlers: { grade: gradeJob(config, deps) } });
}
