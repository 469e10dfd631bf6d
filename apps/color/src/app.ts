import { resolve } from 'node:path';
import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { grade } from '@reelmesh/media';
import { DEFAULT_WORKFLOW_PATH } from '@reelmesh/workflow';

/** The colourist grades every picture chunk with its own 3D LUT (its trade secret). */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  const lutPath = config.lutPath ?? resolve(DEFAULT_WORKFLOW_PATH, '../..', deps.workflow.media.lut.ref);
  return createAgentApp({
    config,
    deps,
    handlers: {
      grade: ({ inputs, outputs }) => grade(inputs.picture, outputs.picture, { lutPath }),
    },
  });
}
