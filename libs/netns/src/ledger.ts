import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomicSync } from '@reelmesh/storage';
import { join } from 'node:path';

/** Where runs record what they created, so a later run can remove what a crashed one left. */
export const STATE_DIR = process.env.REELMESH_NETNS_STATE ?? '/run/reelmesh-netns';

export interface Ledger {
  runId: string;
  /** The process that owns the run, and its start time (pids are reused). */
  pid: number;
  pidStart: string;
  bridge?: string;
  namespaces: string[];
  hostVeths: string[];
}

export function ledgerPath(runId: string): string {
  return join(STATE_DIR, `${runId}.json`);
}

/** A per-run folder for root-only sockets (mode 0700): the pods' port-forward endpoints. */
export function runDir(runId: string): string {
  return join(STATE_DIR, runId);
}

/** Written before each resource is created (intent first), so a crash never hides one. */
export function writeLedger(ledger: Ledger): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(ledgerPath(ledger.runId), JSON.stringify(ledger), { mode: 0o600 });
}

export function removeLedger(runId: string): void {
  rmSync(ledgerPath(runId), { force: true });
  rmSync(runDir(runId), { recursive: true, force: true });
}

export function readLedgers(): Ledger[] {
  if (!existsSync(STATE_DIR)) return [];
  const out: Ledger[] = [];
  for (const file of readdirSync(STATE_DIR)) {
    if (!file.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(STATE_DIR, file), 'utf8')) as Ledger);
    } catch {
      // a torn write: the orphan scan still finds its objects by name
    }
  }
  return out;
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks, stable for the life of a process. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function ownerAlive(ledger: Ledger): boolean {
  return processStart(ledger.pid) === ledger.pidStart;
}
