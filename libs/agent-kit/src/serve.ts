import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { loadWorkflow } from '@reelmesh/workflow';
import { AuditTrail } from './audit-trail';
import { agentConfigFromEnv, type AgentConfig } from './config';
import type { AgentApp, AgentDeps } from './create-agent-app';
import { createLogger } from './logger';
import { loadSigningIdentity } from './signing-identity';
import { createStores } from './stores';

export interface ServeOptions {
  /** Fixed config values of this app, e.g. { agent: 'color' }; env overrides the rest. */
  defaults?: Partial<AgentConfig>;
  createApp: (config: AgentConfig, deps: AgentDeps) => AgentApp;
}

/**
 * main() of every agent: load config once, listen, report readiness to the parent (IPC), and on
 * SIGTERM/SIGINT or the parent's death stop accepting work and finish in-flight chunks first.
 */
export async function serveAgent({ defaults, createApp }: ServeOptions): Promise<Server> {
  const config = agentConfigFromEnv(process.env, defaults);
  const logger = createLogger(config.agent, config.logLevel);
  const workflow = loadWorkflow(config.workflowPath);
  const stores = createStores(config);
  // REELMESH_PROVENANCE=off: the provenance-cost baseline of `reelmesh bench` only.
  const provenance = process.env.REELMESH_PROVENANCE === 'off' ? undefined : await loadSigningIdentity(process.env, logger);
  if (!provenance) logger.warn('no signing identity: provenance is OFF (benchmark baselines only)');
  const audit = auditTrailFromEnv(process.env, logger);
  if (provenance && !audit) logger.warn('no audit ledger configured: handoffs are not audited (set REELMESH_AUDIT_URL)');
  const { app, runtime } = createApp(config, { workflow, store: stores.data, assets: stores.assets, logger, kmsStats: stores.kmsStats, provenance, audit });

  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, host: config.host }, 'listening');
  process.send?.({ event: 'ready', agent: config.agent, port });

  let stopping = false;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ why, active: runtime.queue.active, queued: runtime.queue.pending }, 'draining before exit');
    server.close();
    const hardStop = setTimeout(() => {
      logger.error('drain timed out; exiting');
      process.exit(1);
    }, 120_000);
    hardStop.unref();
    await runtime.drain();
    server.closeAllConnections();
    logger.info('drained; bye');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Spawned by the local runtime with an IPC channel: if the parent dies, so do we (no orphans).
  process.on('disconnect', () => void shutdown('parent gone'));
  return server;
}

/**
 * The owner's audit ledger: REELMESH_AUDIT_URL (+ REELMESH_AUDIT_TOKEN), or in the mesh the
 * control plane's ledger with the pod's own bootstrap token.
 */
export function auditTrailFromEnv(env: NodeJS.ProcessEnv, logger?: Logger): AuditTrail | undefined {
  const token = env.REELMESH_AUDIT_TOKEN ?? env.REELMESH_BOOTSTRAP_TOKEN;
  const url = env.REELMESH_AUDIT_URL ?? (env.REELMESH_CONTROL_PLANE ? `${env.REELMESH_CONTROL_PLANE.replace(/\/+$/, '')}/v1/audit/events` : undefined);
  if (!url || !token) return undefined;
  return new AuditTrail({ url, token }, logger);
}
