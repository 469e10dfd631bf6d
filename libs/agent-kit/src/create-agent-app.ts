import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import type { Workflow } from '@reelmesh/workflow';
import { createHandoffRouter, HttpError, jsonErrorHandler } from '@reelmesh/handoff';
import type { ObjectStore } from '@reelmesh/storage';
import { AgentRuntime, type StepHandlers } from './agent-runtime';
import { resolvePeer, type AgentConfig } from './config';
import { httpLogger } from './logger';

export interface AgentDeps {
  workflow: Workflow;
  store: ObjectStore;
  logger: Logger;
}

export interface AgentAppOptions {
  config: AgentConfig;
  deps: AgentDeps;
  handlers: StepHandlers;
  /** Extra routes of this app (e.g. the owner's run API), mounted before the handoff router. */
  routes?: (runtime: AgentRuntime) => Router;
}

export interface AgentApp {
  app: Express;
  runtime: AgentRuntime;
}

/** The common shape of every ReelMesh agent service: health, status, handoffs, JSON errors. */
export function createAgentApp({ config, deps, handlers, routes }: AgentAppOptions): AgentApp {
  const { workflow, store, logger } = deps;
  if (!workflow.agents.some((a) => a.name === config.agent)) {
    throw new Error(`agent "${config.agent}" is not declared in workflow ${workflow.metadata.id}`);
  }
  const runtime = new AgentRuntime({
    agent: config.agent,
    workflow,
    store,
    handlers,
    resolvePeer: (agent) => resolvePeer(config, agent),
    concurrency: config.concurrency,
    logger,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.get('/health', (_req, res) => {
    res.json({ status: runtime.queue.isClosed ? 'draining' : 'ok', agent: config.agent });
  });
  app.use(httpLogger(logger));
  app.get('/v1/status', (_req, res) => {
    res.json(runtime.status());
  });
  // While draining, refuse new chunks before anything is stored, so the sender retries elsewhere/later.
  app.use((req, _res, next) => {
    if (runtime.queue.isClosed && req.method === 'POST') next(new HttpError(503, 'SHUTTING_DOWN', 'agent is shutting down; retry later'));
    else next();
  });
  if (routes) app.use(routes(runtime));
  app.use(
    createHandoffRouter({
      workflowId: workflow.metadata.id,
      agent: config.agent,
      store,
      accepts: (step: string, artifact: string) => runtime.accepts(step, artifact),
      limits: { fileSize: config.maxChunkBytes },
      onReceived: (chunk) => runtime.onReceived(chunk),
      logger,
    }),
  );
  app.use((req, _res, next) => next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`)));
  app.use(jsonErrorHandler(logger));
  return { app, runtime };
}
