import { sh } from './exec';
import { ownerAlive, readLedgers, removeLedger, type Ledger } from './ledger';
import { RUN_NAME } from './names';

export interface Leftovers {
  namespaces: string[];
  links: string[];
}

/** Our objects (rm-<run id>-...) that exist right now, optionally of one run only. */
export async function listRunObjects(runId?: string): Promise<Leftovers> {
  const mine = (name: string) => {
    const m = RUN_NAME.exec(name);
    return !!m && (!runId || m[1] === runId);
  };
  const nsOut = await sh('ip', ['netns', 'list'], { allowFail: true });
  const namespaces = nsOut
    .split('\n')
    .map((l) => l.trim().split(' ')[0])
    .filter((n) => n && mine(n));
  const linkOut = await sh('ip', ['-o', 'link', 'show'], { allowFail: true });
  const links = linkOut
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n && mine(n));
  return { namespaces, links };
}

/** Kill whatever still runs in a namespace, then delete it (its veth end and peer go with it). */
export async function deleteNamespace(ns: string): Promise<void> {
  const pids = (await sh('ip', ['netns', 'pids', ns], { allowFail: true })).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await sh('ip', ['netns', 'del', ns], { allowFail: true });
}

/** Remove everything one run recorded; safe to call twice. */
export async function destroyRun(ledger: Ledger): Promise<void> {
  for (const ns of ledger.namespaces) await deleteNamespace(ns);
  for (const link of [...ledger.hostVeths, ...(ledger.bridge ? [ledger.bridge] : [])]) {
    await sh('ip', ['link', 'del', link], { allowFail: true });
  }
  removeLedger(ledger.runId);
}

/**
 * Remove what crashed runs left: every ledger whose owner process is gone, then any rm-xxxx-
 * object whose run has no live owner. Live runs (other tests, another `reelmesh up`) are kept.
 */
export async function cleanupStale(): Promise<Leftovers> {
  const removed: Leftovers = { namespaces: [], links: [] };
  const live = new Set<string>();
  for (const ledger of readLedgers()) {
    if (ownerAlive(ledger)) {
      live.add(ledger.runId);
      continue;
    }
    removed.namespaces.push(...ledger.namespaces);
    removed.links.push(...ledger.hostVeths, ...(ledger.bridge ? [ledger.bridge] : []));
    await destroyRun(ledger);
  }
  const orphans = await listRunObjects();
  const isOrphan = (name: string) => !live.has(RUN_NAME.exec(name)![1]);
  for (const ns of orphans.namespaces.filter(isOrphan)) {
    await deleteNamespace(ns);
    removed.namespaces.push(ns);
  }
  for (const link of (await listRunObjects()).links.filter(isOrphan)) {
    await sh('ip', ['link', 'del', link], { allowFail: true });
    removed.links.push(link);
  }
  return { namespaces: [...new Set(removed.namespaces)], links: [...new Set(removed.links)] };
}
