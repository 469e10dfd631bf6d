import { kmsConfigFromEnv, type KmsConfig } from '@reelmesh/envelope';
import { ConfigError, parseListenAddress } from '@reelmesh/http-kit';
import { AGENT_ENV } from './agent-env';
import { validator } from './config.validator';

export { ConfigError } from '@reelmesh/http-kit';

/** Everything an agent process needs, read once at start-up (never at import time). */
export interface AgentConfig {
  agent: string;
  workflowPath?: string;
  dataDir: string;
  /** Where the app listens: `host:port` (port 0 = any free port) or `unix:/path`. */
  listen: string;
  /** Direct addresses of other agents (plain local mode): agent -> endpoint URL. */
  peers: Record<string, string>;
  /** Mesh mode: every call goes to this outbound proxy with Host = destination agent. Wins over peers. */
  outboundProxy?: string;
  /**
   * The pod's own secret, shared with its proxy sidecar: every request but GET /health must carry it
   * (POD_TOKEN_HEADER), and every call through the outbound proxy does.
   */
  podToken?: string;
  concurrency: number;
  logLevel: string;
  /** Owner: where deliverables are exported (in clear, the user's choice). */
  exportDir?: string;
  /** Owner: the only folder masters may be read from. */
  ingestDir?: string;
  /** Color: the colourist's LUT (.cube). */
  lutPath?: string;
  /** Upload limit per chunk, bytes. */
  maxChunkBytes: number;
  /** Sealed storage: when set, every stored byte is envelope-encrypted under KMS data keys. */
  kms?: KmsConfig;
  /** How long an outage is waited out before the work fails (ms). */
  outageDeadlineMs?: number;
  /** The owner's re-dispatch of chunks missing at the sink, after this long without progress (ms; 0 = off). */
  redispatchAfterMs?: number;
}



export function validateAgentConfig(config: unknown): AgentConfig {
  const validate = validator();
  if (!validate(config)) {
    const details = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new ConfigError(`invalid agent configuration: ${details}`);
  }
  try {
    parseListenAddress(config.listen);
  } catch (error) {
    throw new ConfigError(`${AGENT_ENV.listen}: ${(error as Error).message}`);
  }
  return config;
}

function parseJson(name: string, value: string | undefined): unknown {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(`${name} is not valid JSON`);
  }
}

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Read the agent's environment (AGENT_ENV), over `defaults`. */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv, defaults: Partial<AgentConfig> = {}): AgentConfig {
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return validateAgentConfig({
    concurrency: 1,
    logLevel: 'info',
    listen: '127.0.0.1:0',
    peers: {},
    maxChunkBytes: 512 * 1024 * 1024,
    ...defaults,
    ...drop({
      agent: env[AGENT_ENV.agent],
      workflowPath: env[AGENT_ENV.workflowPath],
      dataDir: env[AGENT_ENV.dataDir],
      listen: env[AGENT_ENV.listen] || undefined,
      peers: parseJson(AGENT_ENV.peers, env[AGENT_ENV.peers]),
      outboundProxy: env[AGENT_ENV.outboundProxy],
      podToken: env[AGENT_ENV.podToken],
      concurrency: env[AGENT_ENV.concurrency] === undefined ? undefined : int(AGENT_ENV.concurrency, env[AGENT_ENV.concurrency], 1),
      logLevel: env[AGENT_ENV.logLevel],
      exportDir: env[AGENT_ENV.exportDir],
      ingestDir: env[AGENT_ENV.ingestDir],
      lutPath: env[AGENT_ENV.lutPath],
      maxChunkBytes: env[AGENT_ENV.maxChunkBytes] === undefined ? undefined : int(AGENT_ENV.maxChunkBytes, env[AGENT_ENV.maxChunkBytes], 0),
      kms: kmsConfigFromEnv(env),
      outageDeadlineMs: env[AGENT_ENV.outageDeadlineMs] ? int(AGENT_ENV.outageDeadlineMs, env[AGENT_ENV.outageDeadlineMs], 0) : undefined,
      redispatchAfterMs: env[AGENT_ENV.redispatchAfterMs] ? int(AGENT_ENV.redispatchAfterMs, env[AGENT_ENV.redispatchAfterMs], 0) : undefined,
    }),
  });
}


/** The header carrying the pod's token on the hops inside a pod (app <-> its proxy sidecar). */
export const POD_TOKEN_HEADER = 'x-reelmesh-pod-token';

/**
 * Where to send a request for `agent`: the outbound proxy (mesh), with the pod's token when the pod
 * has one, or the agent's own address.
 */
export function resolvePeer(config: AgentConfig, agent: string): { baseUrl: string; hostHeader?: string; headers?: Record<string, string> } {
  if (config.outboundProxy) {
    const headers = config.podToken ? { headers: { [POD_TOKEN_HEADER]: config.podToken } } : {};
    return { baseUrl: config.outboundProxy, hostHeader: agent, ...headers };
  }
  const baseUrl = config.peers[agent];
  if (!baseUrl) throw Object.assign(new Error(`no address for agent "${agent}"`), { code: 'UNKNOWN_PEER' });
  return { baseUrl };
}
