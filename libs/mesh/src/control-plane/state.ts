// The control plane's state on disk, so a restart (a crash, a kill -9, the supervisor bringing it
// back on the same endpoint) costs the mesh nothing: enrolments, the registry, the policy-sidecar
// registrations and the policy in force. The CA root is kept beside it (ca/ca.ts).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@reelmesh/storage';
import type { PolicySidecarRef, SavedPolicy } from './policy-store';
import type { RegistryEntry } from './registry';
import type { Workload } from './routes';

export const STATE_FILE = 'control-plane-state.json';
const VERSION = 1;

/** An enrolment as stored: the bootstrap token's SHA-256 only, never the token. */
export interface SavedEnrolment extends Workload {
  tokenSha256: string;
}

export interface ControlPlaneState {
  version: typeof VERSION;
  trustDomain: string;
  enrolments: SavedEnrolment[];
  registry: RegistryEntry[];
  /**
   * The sidecars' update tokens are stored as given: the store must present them to push a new
   * policy after a restart. That is why the file is 0600 inside the CA's 0700 directory.
   */
  sidecars: PolicySidecarRef[];
  policy?: SavedPolicy;
}

/** The state file is there but is not a state this control plane wrote: start-up stops, nothing is touched. */
export class StateFileError extends Error {
  readonly code = 'STATE_CORRUPT';
}

/**
 * One JSON file, mode 0600, replaced atomically (write, fsync, rename) on every change, so a crash
 * leaves the previous state or the new one, never half of either. Saves are serialized in the
 * order they were asked for and each writes the state as it is when its turn comes, so the file
 * never goes back in time.
 */
export class StateFile {
  readonly path: string;
  #tail: Promise<unknown> = Promise.resolve();
  /** The write waiting behind the one under way (not started yet): later saves join it. */
  #queued: Promise<void> | undefined;
  #snapshot: (() => ControlPlaneState) | undefined;

  constructor(private readonly dir: string) {
    this.path = join(dir, STATE_FILE);
  }

  /** The saved state, or undefined on a first start. */
  async load(trustDomain: string): Promise<ControlPlaneState | undefined> {
    // The CA makes the directory when it mints a root; a CA passed in may have left it to us.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let state: ControlPlaneState;
    try {
      state = checkState(JSON.parse(text));
    } catch (error) {
      throw new StateFileError(`control plane state ${this.path} is corrupt (${(error as Error).message}); it was left as it is: repair or remove it`);
    }
    if (state.trustDomain !== trustDomain) throw new StateFileError(`control plane state ${this.path} is for trust domain ${state.trustDomain}, not ${trustDomain}`);
    return state;
  }

  /**
   * Write `snapshot()` once every earlier save is done; resolves when it is durable. Saves asked
   * for while a write is under way share the one queued behind it (a group commit): it takes its
   * snapshot when it starts, so it holds every change made before, and seven pods enrolling at
   * once cost two durable writes, not seven in a row.
   */
  save(snapshot: () => ControlPlaneState): Promise<void> {
    this.#snapshot = snapshot;
    if (this.#queued) return this.#queued;
    const run = this.#tail.then(() => {
      this.#queued = undefined;
      return writeFileAtomic(this.path, `${JSON.stringify(this.#snapshot!())}\n`, { mode: 0o600 });
    });
    this.#queued = run;
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Every save asked for so far has settled (on close). */
  settled(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}

/** A strict reading: a state with a field of the wrong kind is refused as a whole, not half-loaded. */
function checkState(value: unknown): ControlPlaneState {
  const s = object(value, 'the state');
  if (s.version !== VERSION) throw new Error(`version ${String(s.version)} is not ${VERSION}`);
  string(s.trustDomain, 'trustDomain');
  for (const e of array(s.enrolments, 'enrolments')) strings(e, 'an enrolment', ['tokenSha256', 'actor', 'agent', 'spiffeId']);
  for (const e of array(s.registry, 'registry')) {
    strings(e, 'a registry entry', ['agent', 'spiffeId', 'host']);
    if (!Number.isInteger((e as RegistryEntry).port)) throw new Error('a registry entry has no integer port');
  }
  for (const e of array(s.sidecars, 'sidecars')) strings(e, 'a policy sidecar', ['agent', 'url', 'token']);
  if (s.policy !== undefined) {
    const p = object(s.policy, 'policy');
    if (!Number.isSafeInteger(p.revision) || (p.revision as number) < 1) throw new Error('policy.revision is not a positive integer');
    if ((p.bundle === undefined) === (p.document === undefined)) throw new Error('policy has neither or both of bundle and document');
    if (p.bundle !== undefined) string(p.bundle, 'policy.bundle');
  }
  return s as unknown as ControlPlaneState;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not an array`);
  return value;
}

function string(value: unknown, what: string): void {
  if (typeof value !== 'string' || value === '') throw new Error(`${what} is not a non-empty string`);
}

function strings(value: unknown, what: string, keys: string[]): void {
  const o = object(value, what);
  for (const key of keys) string(o[key], `${what}'s ${key}`);
}
