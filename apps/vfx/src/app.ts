import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { demuxJob } from './jobs/demux';
import { pictureFxJob } from './jobs/picture-fx';
import { soundFxJob } from './jobs/sound-fx';

/**
 * The VFX house runs three agents from this one app, chosen by REELMESH_AGENT:
 * vfx-1 ingest (demux each chunk), vfx-2 picture effects, vfx-3 sound effects.
 * The workflow decides which steps each agent performs; the jobs are the modules in ./jobs.
 */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  return createAgentApp({
    config,
    deps,
    handlers: { demux: demuxJob(), 'picture-fx': pictureFxJob(deps), 'sound-fx': soundFxJob(deps) },
  });
}
