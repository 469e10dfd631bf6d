import http from 'node:http';
import type { Logger } from 'pino';
import { closeServer, listen, runService } from '@reelmesh/http-kit';
import { ffmpegPath, ffmpegSource, ffmpegVersion } from '@reelmesh/media';
import { loadWorkflow } from '@reelmesh/workflow';
import { AGENT_ENV } from './agent-env';
import { AuditTrail } from './audit-trail';
import { agentConfigFromEnv, type AgentConfig } from './config';
import type { AgentApp, AgentDeps } from './create-agent-app';
import { createLogger } from './logger';
import { loadSigningIdentity } from './signing-identity';
import { createStores } from './stores';

export interface ServeOptions {
  /** Config values of this app that its environment does not give (tests); the environment wins. */
  defaults?: Partial<AgentConfig>;
  createApp: (config: AgentConfig, deps: AgentDeps) => AgentApp;
}

/**
 * main() of every agent: load config once, listen, announce the ready line, and on SIGTERM/SIGINT
 * or the parent's death stop accepting work and finish in-flight chunks first.
 */
export function serveAgent({ defaults, createApp }: ServeOptions): void {
  const drain = Number(process.env[AGENT_ENV.drainDeadlineMs] ?? '');
  runService(process.env[AGENT_ENV.agent] ?? defaults?.agent ?? 'agent', async () => {
    const config = agentConfigFromEnv(process.env, defaults);
    const logger = createLogger(config.agent, config.logLevel);
    const workflow = loadWorkflow(config.workflowPath);
    const stores = createStores(config);
    // REELMESH_PROVENANCE=off: the provenance-cost baseline of `reelmesh bench` only.
    const provenance = process.env.REELMESH_PROVENANCE === 'off' ? undefined : await loadSigningIdentity(process.env, logger);
    if (!provenance) logger.warn('no signing identity: provenance is OFF (benchmark baselines only)');
    const audit = auditTrailFromEnv(process.env, logger);
    if (provenance && !audit) logger.warn(`no audit ledger configured: handoffs are not audited (set ${AGENT_ENV.auditUrl})`);
    const { app, runtime, started } = createApp(config, { workflow, store: stores.data, assets: stores.assets, logger, kmsStats: stores.kmsStats, provenance, audit });

    // Which ffmpeg the jobs run (a current one from PATH, or the bundled build), logged once.
    await ffmpegVersion().then(
      (version) => logger.info({ ffmpeg: ffmpegPath(), source: ffmpegSource(), version: version.raw }, 'media tools'),
      (error: Error) => logger.error({ ffmpeg: ffmpegPath(), err: error }, 'ffmpeg cannot run: every media job will fail'),
    );

    const server = http.createServer(app);
    const url = await listen(server, config.listen);
    logger.info({ url }, 'listening');
    // Ready (the line the runtime waits for) once the volume is taken up; a volume that does not
    // read back ends the process with the object named (the supervisor shows it).
    await started;
    return {
      endpoints: { api: url },
      details: { agent: config.agent },
      async stop(why) {
        logger.info({ why, active: runtime.queue.active, queued: runtime.queue.pending }, 'draining before exit');
        const closing = closeServer(server);
        await runtime.drain();
        // In-flight requests had their answers; anything still open is an idle keep-alive.
        server.closeAllConnections();
        await closing;
        provenance?.stop?.();
        logger.info('drained; bye');
        logger.flush?.();
      },
    };
  }, Number.isInteger(drain) && drain > 0 ? { stopTimeoutMs: drain } : {});
}

/**
 * The owner's audit ledger: REELMESH_AUDIT_URL (+ REELMESH_AUDIT_TOKEN), or in the mesh the
 * control plane's ledger with the pod's own bootstrap token. Without a token (Compose, Istio) the
 * ledger knows the pod by its mesh identity.
 */
export function auditTrailFromEnv(env: NodeJS.ProcessEnv, logger?: Logger): AuditTrail | undefined {
  const token = env[AGENT_ENV.auditToken] || env[AGENT_ENV.bootstrapToken] || undefined;
  const controlPlane = env[AGENT_ENV.controlPlane];
  const url = env[AGENT_ENV.auditUrl] || (controlPlane ? `${controlPlane.replace(/\/+$/, '')}${AUDIT_EVENTS_PATH}` : undefined);
  if (!url) return undefined;
  return new AuditTrail({ url: ledgerEventsUrl(url), token }, logger);
}

/** Where the control plane's ledger takes an app's events. */
const AUDIT_EVENTS_PATH = '/v1/audit/events';

/** REELMESH_AUDIT_URL is the events endpoint, or the ledger's (control plane's) address alone: then its events path. */
function ledgerEventsUrl(url: string): string {
  if (!/^https?:\/\//.test(url)) return url;
  const parsed = new URL(url);
  if (parsed.pathname !== '/') return url;
  parsed.pathname = AUDIT_EVENTS_PATH;
  return parsed.toString();
}
