import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { hdr10Job } from './jobs/hdr10';

/** The HDR mastering house: its jobs are the modules in ./jobs (docs/contractors.md). */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({ config, deps, handlers: { hdr10: hdr10Job(deps) } });
}
