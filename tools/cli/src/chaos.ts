import { seededRandom } from '@reelmesh/bench';
import type { LocalRuntime } from '@reelmesh/runtime';

/** The kinds of process a mesh runs: every pod's three, and the platform's two. */
export const CHAOS_KINDS = ['app', 'proxy', 'policy', 'control-plane', 'kms'] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

export interface ChaosKill {
  /** Seconds since the chaos started. */
  at: number;
  name: string;
  kind: ChaosKind;
  pid: number;
}

export interface ChaosReport {
  kills: ChaosKill[];
  /** Kills per kind (every kind appears, 0 if never hit). */
  byKind: Record<ChaosKind, number>;
}

export interface ChaosOptions {
  /** A kill every this many milliseconds. */
  everyMs: number;
  /** Seed of the choice of victims (a run can be replayed). */
  seed?: number;
  onKill?: (kill: ChaosKill) => void;
}

/** What kind of process a runtime process name is: `kms`, `control-plane`, `<agent>`, `<agent>/proxy`, `<agent>/policy`. */
export function kindOf(name: string): ChaosKind | undefined {
  if (name === 'kms' || name === 'control-plane') return name;
  if (name.endsWith('/proxy')) return 'proxy';
  if (name.endsWith('/policy')) return 'policy';
  return name.includes('/') ? undefined : 'app';
}

/**
 * The chaos monkey of `reelmesh demo --chaos` and `reelmesh bench --only chaos`: every `everyMs`
 * it kill -9s one running process of the mesh — first one of each kind (in a random order), then
 * any — so every kind of process is lost at least once while the run goes on. Only processes that
 * are up are chosen (one in backoff is already down), and none killed in the last 30 s; the runtime
 * restarts what it kills.
 */
export function startChaos(runtime: LocalRuntime, options: ChaosOptions): { stop(): ChaosReport } {
  const rand = seededRandom(options.seed ?? Date.now());
  const started = Date.now();
  const kills: ChaosKill[] = [];
  const unhit = [...CHAOS_KINDS].sort(() => rand() - 0.5);
  // A process just brought back is left alone for a while: the monkey tests recovery, not how many
  // kills in a row one process takes (that is the CrashLoopBackOff bound, tested on its own).
  const coolDownMs = Math.max(30_000, options.everyMs * 5);
  const lastKilled = new Map<string, number>();
  const timer = setInterval(() => {
    const now = Date.now();
    const running = runtime.group.processes.filter(
      (p) => p.state === 'running' && kindOf(p.name) !== undefined && p.child.pid && now - (lastKilled.get(p.name) ?? -Infinity) > coolDownMs,
    );
    if (running.length === 0) return;
    const kinds = new Set(running.map((p) => kindOf(p.name)!));
    const wanted = unhit.find((k) => kinds.has(k));
    const pool = wanted ? running.filter((p) => kindOf(p.name) === wanted) : running;
    const victim = pool[Math.floor(rand() * pool.length)];
    const kill: ChaosKill = { at: (Date.now() - started) / 1000, name: victim.name, kind: kindOf(victim.name)!, pid: victim.child.pid! };
    try {
      process.kill(kill.pid, 'SIGKILL');
    } catch {
      return; // it exited by itself in the meantime
    }
    if (wanted) unhit.splice(unhit.indexOf(wanted), 1);
    lastKilled.set(victim.name, now);
    kills.push(kill);
    options.onKill?.(kill);
  }, options.everyMs);
  return {
    stop() {
      clearInterval(timer);
      const byKind = Object.fromEntries(CHAOS_KINDS.map((k) => [k, kills.filter((x) => x.kind === k).length])) as Record<ChaosKind, number>;
      return { kills, byKind };
    },
  };
}
