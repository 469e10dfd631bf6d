import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Router } from 'express';
import { isEnvelopeError } from '@reelmesh/envelope';
import { ffmpegPath, ffmpegSource } from '@reelmesh/media';
import type { Logger } from 'pino';
import type { Workflow } from '@reelmesh/workflow';
import { createHandoffRouter, SlotIndex } from '@reelmesh/handoff';
import { HttpError, jsonErrorHandler } from '@reelmesh/http-kit';
import type { ObjectStore } from '@reelmesh/storage';
import { AgentRuntime, type ResumeSummary, type StepHandlers } from './agent-runtime';
import type { AuditTrail } from './audit-trail';
import { withFilterJobs } from './filter-jobs';
import { ChunkProvenance, type ChainReader, type ProvenanceIdentity } from './chunk-provenance';
import { POD_TOKEN_HEADER, resolvePeer, type AgentConfig } from './config';
import { httpLogger } from './logger';
import { DEFAULT_OUTAGE_DEADLINE_MS, waitOutOutages } from './outage';
import { StatusFeed } from './status-feed';

export interface AgentDeps {
  workflow: Workflow;
  /** The agent's volume for workflow data (sealed when KMS is configured). */
  store: ObjectStore;
  /** The actor's private assets (sealed under its own key), if any. */
  assets?: ObjectStore;
  logger: Logger;
  kmsStats?: () => unknown;
  /** Signing identity and mesh trust bundle: turns on signed provenance (see loadSigningIdentity). */
  provenance?: ProvenanceIdentity;
  /** The owner's audit ledger (see auditTrailFromEnv): every handoff is recorded there. */
  audit?: AuditTrail;
}

/** Storage failures that are not the caller's fault: KMS down is 503 (retry), KMS refusing is 403. */
const envelopeErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  // The handoff router wraps unexpected errors; look through to the cause.
  const error = isEnvelopeError(err) ? err : isEnvelopeError(err?.cause) ? err.cause : undefined;
  if (!error) return next(err);
  const expose = { expose: true };
  if (error.code === 'ENVELOPE_KMS_UNAVAILABLE') return next(new HttpError(503, 'KMS_UNAVAILABLE', `storage is sealed and KMS is unreachable: ${error.message}`, expose));
  if (error.code === 'ENVELOPE_KMS_DENIED' || error.code === 'ENVELOPE_KEY_NOT_ALLOWED') return next(new HttpError(403, 'KMS_DENIED', error.message, expose));
  return next(new HttpError(500, 'STORAGE_INTEGRITY', `stored object failed to open: ${error.code}`, expose));
};

/**
 * The app is private to its pod: every request must carry the pod's token, which only the pod's
 * proxy sidecar adds (after mTLS and the policy). Anything else on the host that reaches the app's
 * socket — another pod's app, any process of the user — is answered 403 from the headers alone:
 * its body is never read, parsed or stored (a sender stops sending once answered, as sendChunk does).
 */
function podPrivate(token: string, logger: Logger): RequestHandler {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const expected = digest(token);
  return (req, _res, next) => {
    const presented = req.headers[POD_TOKEN_HEADER];
    if (typeof presented === 'string' && timingSafeEqual(digest(presented), expected)) return next();
    logger.warn({ method: req.method, path: req.path, claimedPeer: req.headers['x-reelmesh-peer'] }, "refused a request that did not come through the pod's proxy");
    next(new HttpError(403, 'POD_PRIVATE', "this app takes requests only through its pod's proxy", { expose: true }));
  };
}

export interface AgentAppOptions {
  config: AgentConfig;
  deps: AgentDeps;
  handlers: StepHandlers;
  /** Extra routes of this app (e.g. the owner's run API), mounted before the handoff router. */
  routes?: (runtime: AgentRuntime) => Router;
  /** After the runtime took up its volume: the app's own state (the owner's run) taken up too. */
  resume?: (runtime: AgentRuntime, summary: ResumeSummary) => Promise<void>;
  /** This app's own part of its status (the owner's run), beside the runtime's; a change of it is news to the status stream. */
  status?: () => Record<string, unknown>;
}

export interface AgentApp {
  app: Express;
  runtime: AgentRuntime;
  /**
   * Settles once the agent has taken up what its volume holds (see AgentRuntime.resume); rejects
   * with the object that does not read back. Until then POSTs wait, and GET /ready answers 503.
   */
  started: Promise<ResumeSummary>;
}

/** The common shape of every ReelMesh agent service: health, status, handoffs, JSON errors. */
export function createAgentApp({ config, deps, handlers, routes, resume, status: appStatus }: AgentAppOptions): AgentApp {
  const { workflow, store, logger } = deps;
  if (!workflow.agents.some((a) => a.name === config.agent)) {
    throw new Error(`agent "${config.agent}" is not declared in workflow ${workflow.metadata.id}`);
  }
  // The sink writes every chunk's verified records beside the deliverable (<exportDir>/provenance).
  // A received chunk's chain is kept in its slot record, not in memory: read back when signing on.
  const slots = new SlotIndex(store);
  const readChain: ChainReader = async ({ step, artifact, chunkIndex }) =>
    (await slots.read({ workflowId: workflow.metadata.id, step, artifact, chunkIndex }, { workflowId: workflow.metadata.id, step, agent: config.agent }))?.manifest?.provenance;
  const provenance = deps.provenance && new ChunkProvenance(workflow, deps.provenance, { readChain, recordsDir: config.exportDir, logger });
  const runtime = new AgentRuntime({
    agent: config.agent,
    workflow,
    store,
    // The workflow's filter jobs this agent runs come with agent-kit: the app writes none of them.
    handlers: withFilterJobs(workflow, config.agent, handlers),
    resolvePeer: (agent) => resolvePeer(config, agent),
    concurrency: config.concurrency,
    logger,
    provenance,
    // Every handoff sent, received or refused goes to the owner's audit ledger.
    audit: deps.audit,
    outageDeadlineMs: config.outageDeadlineMs,
    redispatchAfterMs: config.redispatchAfterMs,
  });
  // Take up whatever the volume holds from before a restart (nothing, on a fresh volume).
  const started = runtime.resume(
    resume && ((summary) => waitOutOutages('taking up the run', () => resume(runtime, summary), { deadlineMs: config.outageDeadlineMs ?? DEFAULT_OUTAGE_DEADLINE_MS }, logger)),
  );
  let startFailure: Error | undefined;
  started.catch((error: Error) => {
    startFailure = error;
    logger.error({ err: error }, 'cannot resume from the volume');
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Liveness: the process answers. Readiness: it has taken up its volume and is not draining.
  app.get('/health', (_req, res) => {
    res.json({ status: runtime.queue.isClosed ? 'draining' : 'ok', agent: config.agent });
  });
  app.get('/ready', (_req, res) => {
    const reason = startFailure ? `cannot resume: ${startFailure.message}` : runtime.queue.isClosed ? 'draining' : runtime.ready ? undefined : 'resuming from the volume';
    res.status(reason ? 503 : 200).json(reason ? { ready: false, agent: config.agent, reason } : { ready: true, agent: config.agent });
  });
  if (config.podToken) app.use(podPrivate(config.podToken, logger));
  app.use(httpLogger(logger));
  const statusBody = (now = runtime.status(), own = appStatus?.()) => ({
    ...now,
    ...own,
    sealed: Boolean(config.kms),
    kms: deps.kmsStats?.(),
    audit: deps.audit?.stats(),
    provenance: provenance?.stats(),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    ffmpeg: { path: ffmpegPath(), source: ffmpegSource() },
  });
  // What a watcher of the stream hears about: progress, jobs starting and ending, failures,
  // readiness and the app's own part (counters such as KMS calls or RSS change all the time and are
  // read with the next news).
  const feed = new StatusFeed(() => {
    const now = runtime.status();
    const own = appStatus?.();
    return { key: JSON.stringify([now.progress, now.active, now.queued, now.failures, now.ready, now.redispatched, own]), body: () => statusBody(now, own) };
  });
  app.get('/v1/status', (_req, res) => {
    res.json(statusBody());
  });
  app.get('/v1/status/stream', (req, res) => feed.open(req, res));
  // Nothing is taken in before the volume has been taken up (a resumed chunk must not race a new copy).
  app.use((req, _res, next) => {
    if (req.method !== 'POST' || runtime.ready) return next();
    started.then(
      () => next(),
      (error: Error) => next(new HttpError(503, 'RESUME_FAILED', `this agent cannot resume from its volume: ${error.message}`, { expose: true })),
    );
  });
  // While draining, refuse new chunks before anything is stored, so the sender retries elsewhere/later.
  app.use((req, _res, next) => {
    if (runtime.queue.isClosed && req.method === 'POST') next(new HttpError(503, 'SHUTTING_DOWN', 'agent is shutting down; retry later', { expose: true }));
    // Fail closed: no chunk is taken while its receipt cannot reach the audit ledger.
    else if (deps.audit && !deps.audit.accepting() && req.method === 'POST') {
      next(new HttpError(503, 'AUDIT_UNAVAILABLE', 'the audit ledger is unreachable and the audit queue is full; retry later', { expose: true }));
    } else next();
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
      onDuplicate: (slot) => runtime.onDuplicate(slot),
      logger,
    }),
  );
  app.use((req, _res, next) => next(new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`)));
  app.use(envelopeErrors);
  app.use(jsonErrorHandler(logger));
  return { app, runtime, started };
}
