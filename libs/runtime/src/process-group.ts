import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseServiceLine, type ReadyLine } from '@reelmesh/http-kit';
import { REPO_ROOT } from './repo';

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
  /** TypeScript entry (a program's main.ts), run with tsx. */
  entry: string;
  args?: string[];
  env: Record<string, string>;
  logFile: string;
  /** How long to wait for the child's ready line (default 120 s: event-driven, so a generous bound costs nothing). */
  readyTimeoutMs?: number;
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
 * Children of one run. Every child announces itself with the one ready line (or error line) of
 * @reelmesh/http-kit on stdout/stderr; both streams go to its log file. Each child also gets an IPC
 * channel: if the parent dies the channel closes and the child stops (runService), so a crashed CLI
 * leaves no orphans.
 */
export class ProcessGroup {
  readonly processes: ManagedProcess[] = [];
  private stopping = false;
  private readonly afterStop: Array<() => Promise<void>> = [];

  /** Run after every process has exited on stop() (e.g. tear down the pods' namespaces). */
  onStopped(cleanup: () => Promise<void>): void {
    this.afterStop.push(cleanup);
  }

  /** Starts a child and resolves with its ready line: the endpoints it bound and its details. */
  async spawn(spec: SpawnSpec): Promise<{ process: ManagedProcess; ready: ReadyLine }> {
    if (this.stopping) throw new Error(`not starting ${spec.name}: stopping`);
    const fd = openSync(spec.logFile, 'a', 0o600);
    const nodeArgs = ['--import', 'tsx', spec.entry, ...(spec.args ?? [])];
    // A wrapper (ip netns exec, setpriv) execs node in place: same pid, same IPC channel fd.
    const [command, ...args] = spec.wrap?.length ? [...spec.wrap, process.execPath, ...nodeArgs] : [process.execPath, ...nodeArgs];
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...minimalEnv(), ...spec.env },
      stdio: ['ignore', 'pipe', fd, 'ipc'],
      // Its own process group, so stop() can also reap what the child started (ffmpeg jobs).
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => {
        killGroup(child.pid!, 'SIGKILL'); // stray grandchildren die with their parent
        resolve(code ?? signal ?? -1);
      }),
    );
    const managed: ManagedProcess = { name: spec.name, child, logFile: spec.logFile, exited, stopPhase: spec.stopPhase ?? 0 };
    this.processes.push(managed);

    const log = createWriteStream(spec.logFile, { flags: 'a' });
    const timeoutMs = spec.readyTimeoutMs ?? 120_000;
    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name} did not become ready in ${timeoutMs} ms; last log lines:\n${tail(spec.logFile)}`)), timeoutMs);
      const lines = createInterface({ input: child.stdout! });
      lines.once('close', () => log.end());
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        const announced = parseServiceLine(line);
        if (announced?.event !== 'ready') return;
        clearTimeout(timer);
        resolve(announced);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited (${code ?? signal}) before it was ready (log: ${spec.logFile}): ${whyItFailed(spec.logFile)}`));
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
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'FFMPEG_PATH', 'FFPROBE_PATH', 'REELMESH_FFMPEG', 'NODE_OPTIONS', 'TSX_TSCONFIG_PATH'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
}

/** The most telling line of a crashed child's log: its error line, else its last "Error:" line, else its last line. */
function whyItFailed(file: string): string {
  const lines = tail(file, 60).split('\n');
  const announced = lines.map(parseServiceLine).reverse().find((l) => l?.event === 'error');
  if (announced?.event === 'error') return `${announced.code}: ${announced.message}`;
  return [...lines].reverse().find((l) => /Error\b/.test(l))?.trim() ?? lines[lines.length - 1] ?? '';
}
