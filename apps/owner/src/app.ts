import { isAbsolute, join, relative, resolve } from 'node:path';
import { Router, json } from 'express';
import { createAgentApp, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { HttpError } from '@reelmesh/http-kit';
import { assemble, inspectMaster, splitChunk, type ProgrammeFormat } from '@reelmesh/media';
import { describeFormat } from './format-report';
import { Run } from './run-state';

export const DELIVERABLE_NAME = 'deliverable.mp4';

/**
 * The film owner: ingests a master, splits it into chunks for the workflow's source step,
 * and assembles the deliverable once every graded picture and mastered sound chunk is back.
 */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  const { workflow, logger } = deps;
  const media = workflow.media;
  const run = new Run(workflow.metadata.id);
  const sourceStep = workflow.steps.find((s) => s.agent === config.agent && s.source);
  if (!sourceStep) throw new Error(`workflow ${workflow.metadata.id} has no source step on agent ${config.agent}`);
  const assembleStep = workflow.steps.find((s) => s.agent === config.agent && s.sink);
  // The workflow has sound steps when the deliverable is assembled from a sound artifact.
  const requireSound = workflow.edges.some((e) => e.to === assembleStep?.name && e.artifact === 'sound');
  let masterPath = '';
  // The programme as inspected at ingest: the master's own format, its frame count and chunking.
  let format: ProgrammeFormat | undefined;

  const agent = createAgentApp({
    config,
    deps,
    handlers: {
      split: async ({ chunkIndex, outputs }) => {
        await splitChunk(masterPath, format!, chunkIndex, media, outputs.av);
        run.split();
      },
      assemble: {
        gather: async ({ inputs, attest }) => {
          if (!config.exportDir) throw new HttpError(500, 'EXPORT_DISABLED', 'no export directory configured');
          run.assembling();
          const out = join(config.exportDir, DELIVERABLE_NAME);
          const step = async (code: string, work: () => Promise<void>) =>
            work().catch((error: Error) => {
              run.fail(code, error.message);
              throw error;
            });
          await step('ASSEMBLE_FAILED', () => assemble({ pictures: inputs.picture, sounds: inputs.sound ?? [] }, out, format!));
          // Done only once the owner's signed attestation of the file is beside it.
          await step('ATTEST_FAILED', () => attest(out));
          run.done(out);
        },
      },
    },
    routes: (runtime) => {
      const router = Router();
      router.get('/v1/runs/current', (_req, res) => {
        res.json(run.status);
      });
      router.post('/v1/runs', json({ limit: '16kb' }), async (req, res) => {
        const input = req.body?.input;
        if (typeof input !== 'string' || input.length === 0) throw new HttpError(400, 'INPUT_REQUIRED', 'body must be {"input": "<path of the master>"}');
        if (!config.ingestDir) throw new HttpError(403, 'INGEST_DISABLED', 'this owner has no ingest directory configured');
        const path = resolve(config.ingestDir, input);
        const rel = relative(resolve(config.ingestDir), path);
        if (rel.startsWith('..') || isAbsolute(rel)) throw new HttpError(400, 'UNSAFE_NAME', `input ${JSON.stringify(input)} is outside the ingest directory`);
        if (run.active) throw new HttpError(409, 'RUN_IN_PROGRESS', 'a run is already in progress');
        let info;
        try {
          info = await inspectMaster(path, media, { requireSound });
        } catch (error) {
          const e = error as Error & { code?: string };
          throw new HttpError(422, e.code ?? 'MEDIA_UNREADABLE', e.message);
        }
        masterPath = path;
        format = info.format;
        run.start(path, info.chunkCount, describeFormat(info.format));
        logger.info({ input: path, chunkCount: info.chunkCount, format: run.status.format }, 'run started');
        for (let i = 0; i < info.chunkCount; i++) {
          runtime.produce(sourceStep.name, i, info.chunkCount).catch((error: Error) => run.fail('SPLIT_FAILED', `chunk ${i}: ${error.message}`));
        }
        res.status(202).json(run.status);
      });
      return router;
    },
  });
  return { ...agent, run };
}
