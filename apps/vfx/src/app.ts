import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { demux, pictureFx, soundFx } from '@reelmesh/media';

/**
 * The VFX house runs three agents from this one app, chosen by REELMESH_AGENT:
 * vfx-1 ingest (demux each chunk), vfx-2 picture effects, vfx-3 sound effects.
 * The workflow decides which steps each agent performs.
 */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  const media = deps.workflow.media;
  return createAgentApp({
    config,
    deps,
    handlers: {
      demux: ({ inputs, outputs }) => demux(inputs.av, { picture: outputs.picture, sound: outputs.sound }),
      'picture-fx': ({ inputs, outputs }) => pictureFx(inputs.picture, outputs.picture, media),
      'sound-fx': ({ inputs, outputs }) => soundFx(inputs.sound, outputs.sound, media),
    },
  });
}
