import { isAbsolute, join, relative, resolve } from 'node:path';
import { Router, json } from 'express';
import { createAgentApp, refusal, ResumeError, type AgentConfig, type AgentDeps } from '@reelmesh/agent-kit';
import { HttpError } from '@reelmesh/http-kit';
import { readJsonObject, writeJsonObject } from '@reelmesh/provenance';
import { safeKey } from '@reelmesh/storage';
import { inspectMaster, type ProgrammeFormat } from '@reelmesh/media';
import { assembleJob, DELIVERABLE_NAME } from './jobs/assemble';
import type { OwnerJobContext } from './jobs/context';
import { splitJob } from './jobs/split';
import { describeFormat } from './format-report';
import { Run } from './run-state';

export { DELIVERABLE_NAME } from './jobs/assemble';

/** The owner's record of the run it is doing, in its own sealed volume: a restart takes it up. */
interface RunRecord {
  version: 1;
  /** The master, as resolved in the ingest folder. */
  input: string;
  chunkCount: number;
  startedAt: string;
}

/**
 * The film owner: ingests a master, splits it into chunks for the workflow's source step,
 * and assembles the deliverable once every graded picture and mastered sound chunk is back.
 */
export function createApp(config: AgentConfig, deps: AgentDeps) {
  const { workflow, logger, store } = deps;
  const media = workflow.media;
  const run = new Run(workflow.metadata.id);
  const runKey = safeKey(`run/${workflow.metadata.id}/run.json`);
  const sourceStep = workflow.steps.find((s) => s.agent === config.agent && s.source);
  if (!sourceStep) throw new Error(`workflow ${workflow.metadata.id} has no source step on agent ${config.agent}`);
  const assembleStep = workflow.steps.find((s) => s.agent === config.agent && s.sink);
  // The workflow has sound steps when the deliverable is assembled from a sound artifact.
  const requireSound = workflow.edges.some((e) => e.to === assembleStep?.name && e.artifact === 'sound');
  let masterPath = '';
  // The programme as inspected at ingest: the master's own format, its frame count and chunking.
  let format: ProgrammeFormat | undefined;
  const runContext = { workflowId: workflow.metadata.id, step: sourceStep.name, agent: config.agent };

  /** Inspect the master (at ingest, and again when a restart takes the run up). */
  const inspect = async (path: string) => {
    const info = await inspectMaster(path, media, { requireSound });
    masterPath = path;
    format = info.format;
    return info;
  };

  const jobs: OwnerJobContext = { run, media, masterPath: () => masterPath, format: () => format!, exportDir: config.exportDir };
  const agent = createAgentApp({
    config,
    deps,
    handlers: {
      split: splitJob(jobs),
      assemble: assembleJob(jobs),
    },
    // The run's state rides on the owner's status too: a watcher of its status stream hears the run end.
    status: () => ({ run: run.status }),
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
        // One run per data root: its chunks fill the workflow's slots (a second master would collide).
        if (run.status.state !== 'idle' || (await store.exists(runKey))) {
          throw new HttpError(409, 'RUN_EXISTS', `this data root already holds a run of ${workflow.metadata.id} (${run.status.input ?? runKey}); start a new run in a new data root`);
        }
        let info;
        try {
          info = await inspect(path);
        } catch (error) {
          const e = error as Error & { code?: string };
          throw new HttpError(422, e.code ?? 'MEDIA_UNREADABLE', e.message);
        }
        // Recorded before the first chunk is split: a restart from here on takes the run up.
        const record: RunRecord = { version: 1, input: path, chunkCount: info.chunkCount, startedAt: new Date().toISOString() };
        await writeJsonObject(store, runKey, runContext, record);
        run.start(path, info.chunkCount, describeFormat(info.format));
        logger.info({ input: path, chunkCount: info.chunkCount, format: run.status.format }, 'run started');
        produceAll(runtime, info.chunkCount);
        res.status(202).json(run.status);
      });
      return router;
    },
    // After a restart: the run recorded in the volume goes on where it stopped (chunks already
    // split are not split again; a deliverable already assembled is reported done).
    resume: async (runtime) => {
      if (!(await store.exists(runKey))) return;
      const record = (await readJsonObject(store, runKey, runContext).catch((error: unknown) => {
        throw refusal(runKey, error);
      })) as RunRecord;
      if (record?.version !== 1 || typeof record.input !== 'string' || !Number.isInteger(record.chunkCount)) throw new ResumeError(runKey, 'it is malformed');
      const info = await inspect(record.input).catch((error: Error) => {
        throw new ResumeError(runKey, `its master ${record.input} no longer reads: ${error.message}`, { cause: error });
      });
      if (info.chunkCount !== record.chunkCount) throw new ResumeError(runKey, `its master ${record.input} now makes ${info.chunkCount} chunks, not ${record.chunkCount}: it changed`);
      run.start(record.input, record.chunkCount, describeFormat(info.format), record.startedAt);
      for (let i = runtime.outputsMade(sourceStep.name); i > 0; i--) run.split();
      if (assembleStep && runtime.hasGathered(assembleStep.name)) {
        run.done(join(config.exportDir ?? '', DELIVERABLE_NAME));
        logger.info({ input: record.input }, 'run resumed: already delivered');
        return;
      }
      logger.info({ input: record.input, chunkCount: record.chunkCount, split: run.status.chunksSplit }, 'run resumed');
      produceAll(runtime, record.chunkCount);
    },
  });

  function produceAll(runtime: typeof agent.runtime, chunkCount: number): void {
    for (let i = 0; i < chunkCount; i++) {
      runtime.produce(sourceStep!.name, i, chunkCount).catch((error: Error) => run.fail('SPLIT_FAILED', `chunk ${i}: ${error.message}`));
    }
  }
  return { ...agent, run };
}
