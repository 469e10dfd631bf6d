import { Ajv } from 'ajv';
import { kmsConfigFromEnv, type KmsConfig } from '@reelmesh/envelope';

/** Everything an agent process needs, read once at start-up (never at import time). */
export interface AgentConfig {
  agent: string;
  workflowPath?: string;
  dataDir: string;
  host: string;
  port: number;
  /** Direct addresses of other agents (plain local mode): agent -> base URL. */
  peers: Record<string, string>;
  /** Mesh mode: every call goes to this outbound proxy with Host = destination agent. Wins over peers. */
  outboundProxy?: string;
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
}


const schema = {
  type: 'object',
  required: ['agent', 'dataDir', 'host', 'port', 'peers', 'concurrency', 'logLevel', 'maxChunkBytes'],
  additionalProperties: false,
  properties: {
    agent: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' },
    workflowPath: { type: 'string', minLength: 1 },
    dataDir: { type: 'string', minLength: 1 },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    peers: { type: 'object', additionalProperties: { type: 'string', pattern: '^https?://' } },
    outboundProxy: { type: 'string', pattern: '^http://' },
    concurrency: { type: 'integer', minimum: 1, maximum: 64 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    exportDir: { type: 'string', minLength: 1 },
    ingestDir: { type: 'string', minLength: 1 },
    lutPath: { type: 'string', minLength: 1 },
    maxChunkBytes: { type: 'integer', minimum: 1 },
    kms: {
      type: 'object',
      required: ['region', 'accessKeyId', 'secretAccessKey', 'keyId', 'allowedKeyIds'],
      additionalProperties: false,
      properties: {
        endpoint: { type: 'string', pattern: '^https?://' },
        region: { type: 'string', minLength: 1 },
        accessKeyId: { type: 'string', minLength: 1 },
        secretAccessKey: { type: 'string', minLength: 1 },
        keyId: { type: 'string', minLength: 1 },
        allowedKeyIds: { type: 'array', items: { type: 'string', minLength: 1 } },
        assetKeyId: { type: 'string', minLength: 1 },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile<AgentConfig>(schema);

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export function validateAgentConfig(config: unknown): AgentConfig {
  if (!validate(config)) {
    const details = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new ConfigError(`invalid agent configuration: ${details}`);
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

/** Read REELMESH_* variables; `agent` may be fixed by the app (e.g. the color app is always agent "color"). */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv, defaults: Partial<AgentConfig> = {}): AgentConfig {
  const drop = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return validateAgentConfig({
    concurrency: 1,
    logLevel: 'info',
    host: '127.0.0.1',
    port: 0,
    peers: {},
    maxChunkBytes: 512 * 1024 * 1024,
    ...defaults,
    ...drop({
      agent: env.REELMESH_AGENT,
      workflowPath: env.REELMESH_WORKFLOW,
      dataDir: env.REELMESH_DATA_DIR,
      host: env.HOST,
      port: env.PORT === undefined ? undefined : int('PORT', env.PORT, 0),
      peers: parseJson('REELMESH_PEERS', env.REELMESH_PEERS),
      outboundProxy: env.REELMESH_OUTBOUND_PROXY,
      concurrency: env.REELMESH_CONCURRENCY === undefined ? undefined : int('REELMESH_CONCURRENCY', env.REELMESH_CONCURRENCY, 1),
      logLevel: env.LOG_LEVEL,
      exportDir: env.REELMESH_EXPORT_DIR,
      ingestDir: env.REELMESH_INGEST_DIR,
      lutPath: env.REELMESH_LUT,
      maxChunkBytes: env.REELMESH_MAX_CHUNK_BYTES === undefined ? undefined : int('REELMESH_MAX_CHUNK_BYTES', env.REELMESH_MAX_CHUNK_BYTES, 0),
      kms: kmsConfigFromEnv(env),
    }),
  });
}


/** Where to send a request for `agent`: the outbound proxy (mesh) or the agent's own address. */
export function resolvePeer(config: AgentConfig, agent: string): { baseUrl: string; hostHeader?: string } {
  if (config.outboundProxy) return { baseUrl: config.outboundProxy, hostHeader: agent };
  const baseUrl = config.peers[agent];
  if (!baseUrl) throw Object.assign(new Error(`no address for agent "${agent}"`), { code: 'UNKNOWN_PEER' });
  return { baseUrl };
}
