import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AgentConfig, AgentDeps, JobHandler } from '@reelmesh/agent-kit';
import { grade } from '@reelmesh/media';
import { DEFAULT_WORKFLOW_PATH } from '@reelmesh/workflow';

/**
 * The colourist grades every picture chunk with its own 3D LUT — its trade secret. The LUT is
 * imported once into the colourist's asset store (sealed under the color actor's own KMS key,
 * which neither the owner nor any other contractor can use) and fed to ffmpeg through a FIFO.
 */
export function gradeJob(config: AgentConfig, deps: AgentDeps): JobHandler {
  const { workflow, assets } = deps;
  const original = config.lutPath ?? resolve(DEFAULT_WORKFLOW_PATH, '../..', workflow.media.lut.ref);
  const lutKey = `lut/${basename(original)}`;
  const lutContext = { workflowId: workflow.metadata.id, step: 'grade', agent: config.agent };
  let imported: Promise<void> | undefined;
  const importLut = () =>
    (imported ??= (async () => {
      if (!assets || (await assets.exists(lutKey))) return;
      const writer = await assets.createWriter(lutKey, lutContext);
      try {
        await pipeline(createReadStream(original), writer.stream);
        await writer.commit();
      } catch (error) {
        await writer.abort(error);
        imported = undefined;
        throw error;
      }
    })());

  return async ({ inputs, outputs }) => {
    if (!assets) return grade(inputs.picture, outputs.picture, { lutPath: original, intermediate: workflow.media.intermediate });
    await importLut();
    return grade(inputs.picture, outputs.picture, { lut: () => assets.createReadStream(lutKey, lutContext), intermediate: workflow.media.intermediate });
  };
}
