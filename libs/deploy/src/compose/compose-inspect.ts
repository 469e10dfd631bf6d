// Reading a rendered docker-compose.yml the way Compose does: what each service mounts, and the
// environment its process gets (environment + env_file). For the specs (and the cross-target parity
// test): they check the generated file, not the generator's intentions.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { COMPOSE_CERTS_DIR } from './compose-file';

/** The parts of a Compose service the checks read. */
export interface ComposeService {
  image: string;
  user?: string;
  command?: string[];
  entrypoint?: string[];
  network_mode?: string;
  networks?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  volumes?: Array<string | { type: string; source: string; target: string; read_only?: boolean; volume?: { nocopy?: boolean } }>;
  tmpfs?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  cap_add?: string[];
  cap_drop?: string[];
  read_only?: boolean;
  healthcheck?: { test: string[] };
  ports?: unknown[];
  [key: string]: unknown;
}

export interface ComposeDocument {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
  networks: Record<string, { internal?: boolean }>;
}

export interface ServiceMount {
  /** bind: a host path (relative to the Compose file); volume: a named volume. */
  type: 'bind' | 'volume';
  source: string;
  target: string;
  readOnly: boolean;
}

/** A service's mounts, from the short (`src:dst[:ro]`) or the long syntax. */
export function serviceMounts(service: ComposeService): ServiceMount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      return { type: volume.type === 'bind' ? 'bind' : 'volume', source: volume.source, target: volume.target, readOnly: volume.read_only === true };
    }
    const [source, target, mode] = volume.split(':');
    return { type: /^[./]/.test(source) ? 'bind' : 'volume', source, target, readOnly: mode === 'ro' };
  });
}

/** The names of the services a service depends on, with the condition it waits for. */
export function serviceDependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps) ? Object.fromEntries(deps.map((name) => [name, 'service_started'])) : Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

/**
 * The environment the service's process gets: its env_file lines (KEY=VALUE; `#` comments and
 * blank lines skipped) under its `environment` (which wins, as in Compose). `readEnvFile` maps an
 * env_file path as written in the Compose file to its content.
 */
export function serviceEnvironment(service: ComposeService, readEnvFile: (path: string) => string): Record<string, string> {
  const fromFiles: Record<string, string> = {};
  for (const file of service.env_file ?? []) {
    for (const line of readEnvFile(file).split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const eq = trimmed.indexOf('=');
      fromFiles[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
    }
  }
  return { ...fromFiles, ...(service.environment ?? {}) };
}

/** A path of the Compose file under the certs folder, relative to that folder; undefined for others. */
export function certsRelative(composePath: string): string | undefined {
  const prefix = `./${COMPOSE_CERTS_DIR}`;
  if (composePath === prefix) return '';
  return composePath.startsWith(`${prefix}/`) ? composePath.slice(prefix.length + 1) : undefined;
}

/**
 * The files of a real certs folder (`reelmesh certs` output at `certsDir`) that a service can read:
 * every file under each bind mount from the certs folder (a folder mount shows all of it; symbolic
 * links are skipped, their targets are listed where they are) and its env_files from there.
 * Paths relative to the certs folder.
 */
export function certsFilesSeenBy(service: ComposeService, certsDir: string): string[] {
  const seen = new Set<string>();
  const sources = [...serviceMounts(service).filter((m) => m.type === 'bind').map((m) => m.source), ...(service.env_file ?? [])];
  for (const source of sources) {
    const rel = certsRelative(source);
    if (rel !== undefined) for (const file of filesUnder(certsDir, rel)) seen.add(file);
  }
  return [...seen].sort();
}

function filesUnder(root: string, rel: string): string[] {
  let stat;
  try {
    stat = lstatSync(join(root, rel));
  } catch {
    return [];
  }
  if (stat.isSymbolicLink()) return [];
  if (stat.isFile()) return [rel];
  if (!stat.isDirectory()) return [];
  return readdirSync(join(root, rel)).flatMap((entry) => filesUnder(root, rel === '' ? entry : posix.join(rel, entry)));
}

/** Reads an env_file of the Compose file from a real certs folder. */
export function envFileReader(certsDir: string): (path: string) => string {
  return (path) => {
    const rel = certsRelative(path);
    if (rel === undefined) throw new Error(`env_file ${path} is not in ${COMPOSE_CERTS_DIR}`);
    return readFileSync(join(certsDir, rel), 'utf8');
  };
}
