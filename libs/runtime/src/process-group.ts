import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, openSync, closeSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './repo';

const CHILD_GUARD = resolve(REPO_ROOT, 'libs/runtime/src/child-guard.ts');

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves with the child's exit code (or signal name). */
  exited: Promise<number | string>;
  stopPhase: number;
}

export interface SpawnSpec {
  name: string;
  /** TypeScript entry run with tsx, or a plain script. */
  entry: string;
  args?: string[];
  env: Record<string, string>;
  logFile: string;
  /** How long to wait for the child's {event:'ready'} message. */
  readyTimeoutMs?: number;
  /** Where readiness is announced: an IPC message (agents) or a JSON line on stdout (sidecars, KMS). */
  readyOn?: 'ipc' | 'stdout';
  /** Command prefix that runs node elsewhere, e.g. inside a pod's network namespace as its uid. */
  wrap?: string[];
  /**
   * Stop order: stop() SIGTERMs phase 0 (pods) first and waits for it before phase 1 (the
   * platform: control plane, KMS), so the pods' last audit events and sealed writes still land.
   */
  stopPhase?: number;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Children of one run. Each child gets an IPC channel: it reports readiness over it, and exits
 * by itself if the channel closes (the parent died), so a crashed CLI leaves no orphans.
 */
export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];
  private stopping = false;
  private readonly afterStop: Array<() => Promise<void>> = [];

  /** Run after every process has exited on stop() (e.g. tear down the pods' namespaces). */
  onStopped(cleanup: () => Promise<void>): void {
    this.afterStop.push(cleanup);
  }

  async spawn(spec: SpawnSpec): Promise<{ process: ManagedProcess; ready: Record<string, unknown> }> {
    if (this.stopping) throw new Error(`not starting ${spec.name}: stopping`);
    const fd = openSync(spec.logFile, 'a', 0o600);
    const viaStdout = spec.readyOn === 'stdout';
    const nodeArgs = ['--import', 'tsx', '--import', CHILD_GUARD, spec.entry, ...(spec.args ?? [])];
    // A wrapper (ip netns exec, setpriv) execs node in place: same pid, same IPC channel fd.
    const [command, ...args] = spec.wrap?.length ? [...spec.wrap, process.execPath, ...nodeArgs] : [process.execPath, ...nodeArgs];
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...minimalEnv(), ...spec.env },
      stdio: ['ignore', viaStdout ? 'pipe' : fd, fd, 'ipc'],
      // Its own process group, so stop() can also reap what the child started (ffmpeg jobs).
      detached: true,
    });
    closeSync(fd);
    if (viaStdout) {
      const log = createWriteStream(spec.logFile, { flags: 'a' });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(`${line}\n`);
        if (line.startsWith('{') && line.includes('"ready"')) {
          try {
            const message = JSON.parse(line);
            // Our mains announce either {"event":"ready"} or {"ready":true}.
            if (message.event === 'ready' || message.ready === true) child.emit('message', { ...message, event: 'ready' });
          } catch {
            // an ordinary log line
          }
        }
      });
    }
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => {
        killGroup(child.pid!, 'SIGKILL'); // stray grandchildren die with their parent
        resolve(code ?? signal ?? -1);
      }),
    );
    const managed: ManagedProcess = { name: spec.name, child, logFile: spec.logFile, exited, stopPhase: spec.stopPhase ?? 0 };
    this.processes.push(managed);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${spec.name} did not become ready in ${spec.readyTimeoutMs ?? 30000} ms; last log lines:\n${tail(spec.logFile)}`));
      }, spec.readyTimeoutMs ?? 30_000);
      child.on('message', (message: Record<string, unknown>) => {
        if (message?.event === 'ready') {
          clearTimeout(timer);
          resolve(message);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited (${code ?? signal}) before it was ready (log: ${spec.logFile}): ${lastError(spec.logFile)}\n${tail(spec.logFile)}`));
      });
    });
    return { process: managed, ready };
  }

  /** SIGTERM everyone (they drain), then SIGKILL whoever is still there after graceMs. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const phases = [...new Set(this.processes.map((p) => p.stopPhase))].sort((a, b) => a - b);
    for (const phase of phases) {
      const alive = this.processes.filter((p) => p.stopPhase === phase && p.child.exitCode === null && p.child.signalCode === null);
      for (const p of alive) p.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const p of alive) killGroup(p.child.pid!, 'SIGKILL');
      }, graceMs);
      await Promise.all(alive.map((p) => p.exited));
      clearTimeout(timer);
    }
    for (const cleanup of this.afterStop.splice(0)) await cleanup();
  }

  pids(): number[] {
    return this.processes.map((p) => p.child.pid!).filter(Boolean);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

/** Pass only what a child needs, not the caller's whole environment. */
function minimalEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'FFMPEG_PATH', 'FFPROBE_PATH', 'NODE_OPTIONS', 'TSX_TSCONFIG_PATH'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
}

/** The most telling line of a crashed child's log: its last "Error:" line, else its last line. */
function lastError(file: string): string {
  const lines = tail(file, 60).split('\n');
  return [...lines].reverse().find((l) => /Error\b/.test(l))?.trim() ?? lines[lines.length - 1] ?? '';
}
