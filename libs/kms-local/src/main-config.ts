// Every failure is http-kit's ConfigError, so the error line carries code CONFIG_INVALID.
import { isName } from '@reelmesh/addressing';
import { ConfigError } from '@reelmesh/http-kit';
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { principalDirectory, type PrincipalMap } from './principals';

export interface MainConfig {
  dataDir: string;
  /** Default 127.0.0.1. */
  host: string;
  /** Default 0: any free port, reported in the ready line (never a port picked in advance). */
  port: number;
  principals: PrincipalMap;
  masterKeyFile?: string;
  region?: string;
  keyCreators: string[];
  /** Provision the workflow keys from this workflow file at start-up. */
  workflowFile?: string;
  /** Only when given explicitly; otherwise the owner is `ownerOf(workflow).actor`. */
  ownerActor?: string;
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

/** The flags, each with its environment variable and what it means (also the --help text). */
const OPTIONS = {
  'data-dir': { value: 'dir', env: 'dataDir', help: 'sealed key state' },
  host: { value: 'host', env: 'host', help: 'listen address, default 127.0.0.1' },
  port: { value: 'port', env: 'port', help: 'listen port, default 0 = any free port, reported in the ready line' },
  'principals-file': { value: 'file', env: 'principalsFile', help: 'JSON {accessKeyId: {secretAccessKey, principal}}, mode 0600' },
  'master-key-file': { value: 'file', env: 'masterKeyFile', help: 'master secret, default <data-dir>/master.key' },
  region: { value: 'region', env: 'region', help: 'region for ARNs and request scopes' },
  'key-creators': { value: 'list', env: 'keyCreators', help: 'comma-separated principals allowed to CreateKey' },
  workflow: { value: 'file', env: 'workflow', help: 'provision workflow and asset keys from this workflow YAML' },
  'owner-actor': { value: 'actor', env: 'ownerActor', help: "actor owning the workflow key, default the workflow's owner" },
  'platform-agents': { value: 'list', env: 'platformAgents', help: 'extra workloads as name:actor,... provisioned like agents' },
  'log-level': { value: 'level', env: 'logLevel', help: 'pino level, logs go to stderr' },
} as const satisfies Record<string, { value: string; env: keyof typeof ENV; help: string }>;
type Flag = keyof typeof OPTIONS;

/** Flags win over environment variables (an empty variable counts as unset); validated once. */
export async function loadMainConfig(argv: string[], env: NodeJS.ProcessEnv): Promise<MainConfig> {
  let flags: Partial<Record<Flag, string>>;
  try {
    flags = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(OPTIONS).map((flag) => [flag, { type: 'string' }])) as Record<Flag, { type: 'string' }>,
      strict: true,
    }).values as Partial<Record<Flag, string>>;
  } catch (error) {
    // node's parseArgs explains itself in a sentence or two; the first one names the problem.
    throw new ConfigError((error as Error).message.split('. ')[0]);
  }
  const pick = (flag: Flag): string | undefined => flags[flag] || env[ENV[OPTIONS[flag].env]] || undefined;
  const setting = (flag: Flag) => `--${flag} or ${ENV[OPTIONS[flag].env]}`;

  const dataDir = pick('data-dir');
  if (!dataDir) throw new ConfigError(`${setting('data-dir')} is required`);
  const principalsFile = pick('principals-file');
  if (!principalsFile) throw new ConfigError(`${setting('principals-file')} is required`);
  const port = Number(pick('port') ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${setting('port')} must be a port 0-65535`);
  const creators = pick('key-creators');
  return {
    dataDir,
    host: pick('host') ?? '127.0.0.1',
    port,
    principals: await readPrincipalsFile(principalsFile),
    masterKeyFile: pick('master-key-file'),
    region: pick('region'),
    keyCreators: creators ? creators.split(',').map((s) => s.trim()).filter(Boolean) : [],
    workflowFile: pick('workflow'),
    ownerActor: pick('owner-actor'),
    platformAgents: parsePlatformAgents(pick('platform-agents') ?? ''),
    logLevel: pick('log-level') ?? 'info',
  };
}

/** `--help`/`-h` anywhere: show usage instead of starting (checked before runService). */
export function helpRequested(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function usage(): string {
  const rows = Object.entries(OPTIONS).map(([flag, o]) => `  --${flag} <${o.value}>`.padEnd(30) + `${o.help} (${ENV[o.env]})`);
  return ['Usage: kms-local [options]', '', 'Local KMS server speaking the AWS KMS JSON 1.1 protocol', '', 'Options:', ...rows, ''].join('\n');
}

/** Secrets live in this file, so like the master secret it must be private to its owner. */
async function readPrincipalsFile(file: string): Promise<PrincipalMap> {
  const info = await stat(file).catch((error: Error) => {
    throw new ConfigError(`principals file ${file} cannot be read: ${error.message}`);
  });
  if ((info.mode & 0o077) !== 0) {
    throw new ConfigError(`principals file ${file} must not be accessible to group or others (chmod 600)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new ConfigError(`principals file ${file} is not valid JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`principals file ${file} must be an object of accessKeyId -> {secretAccessKey, principal}`);
  }
  try {
    principalDirectory(parsed as PrincipalMap); // validates every entry
  } catch (error) {
    throw new ConfigError(`principals file ${file}: ${(error as Error).message}`);
  }
  return parsed as PrincipalMap;
}

function parsePlatformAgents(list: string): { name: string; actor: string }[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const [name, actor, ...rest] = item.split(':');
      if (rest.length > 0 || !isName(name) || !isName(actor)) throw new ConfigError(`--platform-agents or ${ENV.platformAgents}: "${item}" is not name:actor`);
      return { name, actor };
    });
}
