// Every failure is http-kit's ConfigError, so the error line carries code CONFIG_INVALID.
import { ConfigError } from '@reelmesh/http-kit';
import { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
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

/** Flags win over environment variables (an empty variable counts as unset); validated once. */
export async function loadMainConfig(argv: string[], env: NodeJS.ProcessEnv): Promise<MainConfig> {
  const program = commandLine();
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    throw new ConfigError((error as Error).message.replace(/^error: /, ''));
  }
  const flags = program.opts<Record<string, string | undefined>>();
  const pick = (flag: string, name: keyof typeof ENV): string | undefined => flags[flag] || env[ENV[name]] || undefined;
  const setting = (flag: string, name: keyof typeof ENV) => `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} or ${ENV[name]}`;

  const dataDir = pick('dataDir', 'dataDir');
  if (!dataDir) throw new ConfigError(`${setting('dataDir', 'dataDir')} is required`);
  const principalsFile = pick('principalsFile', 'principalsFile');
  if (!principalsFile) throw new ConfigError(`${setting('principalsFile', 'principalsFile')} is required`);
  const port = Number(pick('port', 'port') ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${setting('port', 'port')} must be a port 0-65535`);
  const creators = pick('keyCreators', 'keyCreators');
  return {
    dataDir,
    host: pick('host', 'host') ?? '127.0.0.1',
    port,
    principals: await readPrincipalsFile(principalsFile),
    masterKeyFile: pick('masterKeyFile', 'masterKeyFile'),
    region: pick('region', 'region'),
    keyCreators: creators ? creators.split(',').map((s) => s.trim()).filter(Boolean) : [],
    workflowFile: pick('workflow', 'workflow'),
    ownerActor: pick('ownerActor', 'ownerActor'),
    platformAgents: parsePlatformAgents(pick('platformAgents', 'platformAgents') ?? ''),
    logLevel: pick('logLevel', 'logLevel') ?? 'info',
  };
}

/** `--help`/`-h` anywhere: show usage instead of starting (checked before runService). */
export function helpRequested(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function usage(): string {
  return commandLine().helpInformation();
}

function commandLine(): Command {
  return new Command('kms-local')
    .description('Local KMS server speaking the AWS KMS JSON 1.1 protocol')
    .option('--data-dir <dir>', `sealed key state (${ENV.dataDir})`)
    .option('--host <host>', `listen address, default 127.0.0.1 (${ENV.host})`)
    .option('--port <port>', `listen port, default 0 = any free port, reported in the ready line (${ENV.port})`)
    .option('--principals-file <file>', `JSON {accessKeyId: {secretAccessKey, principal}}, mode 0600 (${ENV.principalsFile})`)
    .option('--master-key-file <file>', `master secret, default <data-dir>/master.key (${ENV.masterKeyFile})`)
    .option('--region <region>', `region for ARNs and request scopes (${ENV.region})`)
    .option('--key-creators <list>', `comma-separated principals allowed to CreateKey (${ENV.keyCreators})`)
    .option('--workflow <file>', `provision workflow and asset keys from this workflow YAML (${ENV.workflow})`)
    .option('--owner-actor <actor>', `actor owning the workflow key, default the workflow's owner (${ENV.ownerActor})`)
    .option('--platform-agents <list>', `extra workloads as name:actor,... provisioned like agents (${ENV.platformAgents})`)
    .option('--log-level <level>', `pino level, logs go to stderr (${ENV.logLevel})`)
    // Errors travel in the one error line (see runService), not as commander's own stderr text.
    .configureOutput({ writeErr: () => undefined })
    .helpOption(false)
    .exitOverride();
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
      const m = /^([a-z0-9][a-z0-9_-]*):([a-z0-9][a-z0-9_-]*)$/i.exec(item);
      if (!m) throw new ConfigError(`--platform-agents or ${ENV.platformAgents}: "${item}" is not name:actor`);
      return { name: m[1], actor: m[2] };
    });
}
