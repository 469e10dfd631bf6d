import { Command, InvalidArgumentError } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { principalDirectory, type PrincipalMap } from './principals';

export interface MainConfig {
  dataDir: string;
  host: string;
  port: number;
  principals: PrincipalMap;
  masterKeyFile?: string;
  region?: string;
  keyCreators: string[];
  /** Provision the workflow keys from this workflow file at start-up. */
  workflowFile?: string;
  ownerActor: string;
  /** Workloads outside the workflow's agents list (e.g. the owner's audit ledger) as name:actor. */
  platformAgents: { name: string; actor: string }[];
  logLevel: string;
}

const ENV = {
  dataDir: 'REELMESH_KMS_DATA_DIR',
  host: 'REELMESH_KMS_HOST',
  port: 'REELMESH_KMS_PORT',
  principalsFile: 'REELMESH_KMS_PRINCIPALS_FILE',
  masterKeyFile: 'REELMESH_KMS_MASTER_KEY_FILE',
  region: 'REELMESH_KMS_REGION',
  keyCreators: 'REELMESH_KMS_KEY_CREATORS',
  workflow: 'REELMESH_KMS_WORKFLOW',
  ownerActor: 'REELMESH_KMS_OWNER_ACTOR',
  platformAgents: 'REELMESH_KMS_PLATFORM_AGENTS',
  logLevel: 'REELMESH_KMS_LOG_LEVEL',
} as const;

/** Flags win over environment variables; validated once, failing with a clear message. */
export async function loadMainConfig(argv: string[], env: NodeJS.ProcessEnv): Promise<MainConfig> {
  const program = new Command('kms-local')
    .description('Local KMS server speaking the AWS KMS JSON 1.1 protocol')
    .option('--data-dir <dir>', `sealed key state (${ENV.dataDir})`)
    .option('--host <host>', `listen address (${ENV.host})`)
    .option('--port <port>', `listen port, 0 = any (${ENV.port})`, parsePort)
    .option('--principals-file <file>', `JSON {accessKeyId: {secretAccessKey, principal}}, mode 0600 (${ENV.principalsFile})`)
    .option('--master-key-file <file>', `master secret, default <data-dir>/master.key (${ENV.masterKeyFile})`)
    .option('--region <region>', `region for ARNs and request scopes (${ENV.region})`)
    .option('--key-creators <list>', `comma-separated principals allowed to CreateKey (${ENV.keyCreators})`)
    .option('--workflow <file>', `provision workflow and asset keys from this workflow YAML (${ENV.workflow})`)
    .option('--owner-actor <actor>', `actor owning the workflow key (${ENV.ownerActor})`)
    .option('--platform-agents <list>', `extra workloads as name:actor,... provisioned like agents (${ENV.platformAgents})`)
    .option('--log-level <level>', `pino level, logs go to stderr (${ENV.logLevel})`)
    .exitOverride()
    .parse(argv, { from: 'user' });
  const flags = program.opts<Record<string, string | number | undefined>>();
  const pick = (flag: string, name: keyof typeof ENV) => (flags[flag] ?? env[ENV[name]]) as string | number | undefined;

  const dataDir = pick('dataDir', 'dataDir');
  if (!dataDir) throw new Error(`--data-dir or ${ENV.dataDir} is required`);
  const principalsFile = pick('principalsFile', 'principalsFile');
  if (!principalsFile) throw new Error(`--principals-file or ${ENV.principalsFile} is required`);
  const port = pick('port', 'port');
  const creators = pick('keyCreators', 'keyCreators');
  return {
    dataDir: String(dataDir),
    host: String(pick('host', 'host') ?? '127.0.0.1'),
    port: typeof port === 'number' ? port : parsePort(port ?? '0'),
    principals: await readPrincipalsFile(String(principalsFile)),
    masterKeyFile: pick('masterKeyFile', 'masterKeyFile') as string | undefined,
    region: pick('region', 'region') as string | undefined,
    keyCreators: creators ? String(creators).split(',').map((s) => s.trim()).filter(Boolean) : [],
    workflowFile: pick('workflow', 'workflow') as string | undefined,
    ownerActor: String(pick('ownerActor', 'ownerActor') ?? 'owner'),
    platformAgents: parsePlatformAgents(String(pick('platformAgents', 'platformAgents') ?? '')),
    logLevel: String(pick('logLevel', 'logLevel') ?? 'info'),
  };
}

/** Secrets live in this file, so like the master secret it must be private to its owner. */
async function readPrincipalsFile(file: string): Promise<PrincipalMap> {
  const info = await stat(file);
  if ((info.mode & 0o077) !== 0) {
    throw new Error(`principals file ${file} must not be accessible to group or others (chmod 600)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error(`principals file ${file} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`principals file ${file} must be an object of accessKeyId -> {secretAccessKey, principal}`);
  }
  principalDirectory(parsed as PrincipalMap); // validates every entry
  return parsed as PrincipalMap;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('port must be 0-65535');
  return port;
}

function parsePlatformAgents(list: string): { name: string; actor: string }[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const m = /^([a-z0-9][a-z0-9_-]*):([a-z0-9][a-z0-9_-]*)$/i.exec(item);
      if (!m) throw new Error(`--platform-agents: "${item}" is not name:actor`);
      return { name: m[1], actor: m[2] };
    });
}
