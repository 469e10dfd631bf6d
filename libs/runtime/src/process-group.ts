import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, createWriteStream, openSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseServiceLine, type ReadyLine } from '@reelmesh/http-kit';
import { programArgs } from './bundles';
import { REPO_ROOT } from './repo';

/** How a child ended: its exit code, or the signal name that killed it. */
export type ExitStatus = number | string;

/**
 * Where a supervised process is: `starting` (first start, until spawn() resolves), `running`,
 * `backoff` (crashed, waiting to be restarted), `restarting` (restarted, not ready yet),
 * `crashloop` (the group gave up on it) or `stopped` (stop() ended it).
 */
export type ProcessState = 'starting' | 'running' | 'backoff' | 'restarting' | 'crashloop' | 'stopped';

export interface ManagedProcess {
  readonly name: string;
  /** The current incarnation: a restart replaces it, so read it when needed rather than keeping it. */
  readonly child: ChildProcess;
  readonly logFile: string;
  /**
   * Resolves with the exit code (or signal name) of the current incarnation. A restart makes a new
   * one, so a caller that wants "the run lost this process" listens for the group's 'crashloop'.
   */
  readonly exited: Promise<ExitStatus>;
  readonly stopPhase: number;
  /** The ready line of the current incarnation (after a restart, what it bound this time). */
  readonly ready: ReadyLine | undefined;
  /** How many times this process was restarted in this run. */
  readonly restarts: number;
  readonly state: ProcessState;
}

export interface SpawnSpec {
  name: string;
  /** TypeScript entry (a program's main.ts): started from its bundle (./bundles), or with tsx from source. */
  entry: string;
  args?: string[];
  /** Node's own flags, before the program (AGENT_NODE_FLAGS for an agent). */
  nodeFlags?: readonly string[];
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
  /**
   * What a restart changes, from the first incarnation's ready line: a process that bound port 0
   * comes back on the port it got (as a kubelet keeps a pod's IP), since others were wired to it.
   * `args` replace the spec's; `env` is merged over it.
   */
  restartSpec?: (first: ReadyLine) => Partial<Pick<SpawnSpec, 'args' | 'env'>>;
  /**
   * Run after the ready line, on the first start and after every restart, before the process counts
   * as (re)started: what others must do for a fresh incarnation (register a policy sidecar again).
   * On the first start spawn() rejects with its error; on a restart its failure kills the
   * incarnation, which counts as a crash (a Kubernetes postStart hook behaves the same way).
   */
  afterReady?: (ready: ReadyLine, incarnation: { restarts: number }) => Promise<void>;
}

/**
 * The kubelet's CrashLoopBackOff, scaled for a run on one machine: the delay before a restart
 * doubles from `initialBackoffMs` up to `maxBackoffMs`; a process that ran `resetAfterMs` before it
 * exited starts the count again. After `maxRestarts` restarts in a row without such a run the group
 * gives up on it ('crashloop'). In a row, not in total: a feature-length run may lose a process now
 * and then to the OOM killer or an operator, and that must cost seconds, never the run.
 */
export interface SupervisionOptions {
  /** Default 250 ms. */
  initialBackoffMs?: number;
  /** Default 10 s: with the default count, a dependency (the control plane) may be away ~35 s. */
  maxBackoffMs?: number;
  /** Default 60 s. */
  resetAfterMs?: number;
  /** Default 8; 0 turns restarts off (the first crash is a 'crashloop'). */
  maxRestarts?: number;
}

/** A restart is scheduled: `restarts` is the number this one will be, `exit` how the last incarnation ended. */
export interface RestartingEvent {
  name: string;
  restarts: number;
  exit: ExitStatus;
  delayMs: number;
}

/** A restarted process announced its ready line again and its afterReady hook ran. */
export interface RestartedEvent {
  name: string;
  pid: number;
  restarts: number;
  ready: ReadyLine;
}

/** The group gave up on a process: `message` says which, how often, and why from its log. */
export interface CrashLoopEvent {
  name: string;
  restarts: number;
  exit: ExitStatus;
  message: string;
  logFile: string;
}

/** A process is being started for the first time (its program is chosen; spawn follows). */
export interface SpawningEvent {
  name: string;
}

/** A process announced its first ready line (and its afterReady hook ran): how long that took. */
export interface StartedEvent {
  name: string;
  pid: number;
  /** Milliseconds from spawn() to ready, the start-up time a dashboard or bench shows. */
  startupMs: number;
}

export interface ProcessGroupEvents {
  spawning: [SpawningEvent];
  started: [StartedEvent];
  restarting: [RestartingEvent];
  restarted: [RestartedEvent];
  crashloop: [CrashLoopEvent];
}

/** One run of a spec's process: its child, its exit, its ready line, where its log starts. */
interface Incarnation {
  child: ChildProcess;
  exited: Promise<ExitStatus>;
  ready: Promise<ReadyLine>;
  /** Length of the log file when it started: why it failed is read from there on. */
  logOffset: number;
  readyAt?: number;
}

function tail(file: string, lines = 15, fromByte = 0): string {
  try {
    return readFileSync(file).subarray(fromByte).toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Children of one run, supervised as a kubelet supervises a pod's containers: a child that exits
 * while the group is not stopping is started again with the same spec (argv, environment, log
 * file, wrapper) after a backoff, until it crashes too often in a row (see SupervisionOptions).
 * Every child announces itself with the one ready line (or error line) of @reelmesh/http-kit on
 * stdout/stderr; both streams go to its log file, appended across restarts. Each child also gets
 * an IPC channel: if the parent dies the channel closes and the child stops (runService), so a
 * crashed CLI leaves no orphans.
 */
export class ProcessGroup extends EventEmitter<ProcessGroupEvents> {
  private stopping = false;
  private readonly afterStop: Array<() => Promise<void>> = [];
  private readonly supervised: Supervised[] = [];
  readonly supervision: Required<SupervisionOptions>;

  constructor(options: SupervisionOptions = {}) {
    super();
    this.supervision = {
      initialBackoffMs: options.initialBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      resetAfterMs: options.resetAfterMs ?? 60_000,
      maxRestarts: options.maxRestarts ?? 8,
    };
  }

  /** Every process spawned into the group, in spawn order, whatever its state. */
  get processes(): ManagedProcess[] {
    return this.supervised;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Run after every process has exited on stop() (e.g. tear down the pods' namespaces). */
  onStopped(cleanup: () => Promise<void>): void {
    this.afterStop.push(cleanup);
  }

  /**
   * Starts a child and resolves with its ready line: the endpoints it bound and its details. A
   * child that fails to start is not restarted (spawn() rejects: the caller's start failed); from
   * then on it is supervised.
   */
  async spawn(spec: SpawnSpec): Promise<{ process: ManagedProcess; ready: ReadyLine }> {
    if (this.stopping) throw new Error(`not starting ${spec.name}: stopping`);
    const asked = Date.now();
    this.emit('spawning', { name: spec.name });
    const program = await programArgs(spec.entry);
    if (this.stopping) throw new Error(`not starting ${spec.name}: stopping`);
    const managed = new Supervised(this, spec, program);
    this.supervised.push(managed);
    const ready = await managed.start();
    this.emit('started', { name: spec.name, pid: managed.child.pid!, startupMs: Date.now() - asked });
    return { process: managed, ready };
  }

  /** Restarts so far, by process name (the RESTARTS column of `kubectl get pods`). */
  restarts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const p of this.supervised) counts[p.name] = (counts[p.name] ?? 0) + p.restarts;
    return counts;
  }

  /**
   * SIGTERM everyone (they drain), then SIGKILL whoever is still there after graceMs. Nothing is
   * restarted from here on: pending restarts are cancelled, a restart under way is stopped too.
   */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    for (const p of this.supervised) p.cancelRestart();
    const phases = [...new Set(this.processes.map((p) => p.stopPhase))].sort((a, b) => a - b);
    for (const phase of phases) {
      const running = this.processes.filter((p) => p.stopPhase === phase && alive(p.child));
      for (const p of running) p.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        for (const p of running) killGroup(p.child.pid!, 'SIGKILL');
      }, graceMs);
      await Promise.all(running.map((p) => p.exited));
      clearTimeout(timer);
    }
    for (const cleanup of this.afterStop.splice(0)) await cleanup();
  }

  /** The current pid of every process that has one. */
  pids(): number[] {
    return this.processes.map((p) => p.child.pid!).filter(Boolean);
  }
}

/** One spec under supervision: its current incarnation and its restart bookkeeping. */
class Supervised implements ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly stopPhase: number;
  restarts = 0;
  state: ProcessState = 'starting';
  ready: ReadyLine | undefined;
  private current!: Incarnation;
  /** Restarts since the process last ran resetAfterMs: what the backoff and the give-up count. */
  private inARow = 0;
  private timer: NodeJS.Timeout | undefined;
  private restartSpec: SpawnSpec | undefined;
  /** Why the last restart was abandoned when its log cannot say (its afterReady hook failed). */
  private hookFailure: string | undefined;

  constructor(
    private readonly group: ProcessGroup,
    private readonly spec: SpawnSpec,
    /** What node runs: the program's bundle, or tsx and its entry. */
    private readonly program: string[],
  ) {
    this.name = spec.name;
    this.logFile = spec.logFile;
    this.stopPhase = spec.stopPhase ?? 0;
  }

  get child(): ChildProcess {
    return this.current.child;
  }

  get exited(): Promise<ExitStatus> {
    return this.current.exited;
  }

  async start(): Promise<ReadyLine> {
    const incarnation = this.launch(this.spec);
    const ready = await incarnation.ready;
    this.ready = ready;
    await this.spec.afterReady?.(ready, { restarts: 0 });
    const derived = this.spec.restartSpec?.(ready);
    this.restartSpec = { ...this.spec, ...derived, env: { ...this.spec.env, ...derived?.env } };
    // Supervised from here on; one that died while its hook ran is a crash like any other.
    this.state = 'running';
    void incarnation.exited.then((status) => this.onExit(incarnation, status));
    return ready;
  }

  cancelRestart(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.state === 'backoff') this.state = 'stopped';
  }

  private launch(spec: SpawnSpec): Incarnation {
    const logOffset = fileSize(spec.logFile);
    const fd = openSync(spec.logFile, 'a', 0o600);
    const nodeArgs = [...(spec.nodeFlags ?? []), ...this.program, ...(spec.args ?? [])];
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
    const exited = new Promise<ExitStatus>((resolve) =>
      child.once('exit', (code, signal) => {
        killGroup(child.pid!, 'SIGKILL'); // stray grandchildren die with their parent
        resolve(code ?? signal ?? -1);
      }),
    );
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    const timeoutMs = spec.readyTimeoutMs ?? 120_000;
    const ready = new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name} did not become ready in ${timeoutMs} ms; last log lines:\n${tail(spec.logFile, 15, logOffset)}`)), timeoutMs);
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
        reject(new Error(`${spec.name} exited (${code ?? signal}) before it was ready (log: ${spec.logFile}): ${whyItFailed(spec.logFile, logOffset)}`));
      });
    });
    const incarnation: Incarnation = { child, exited, ready, logOffset };
    // When it became ready: how long it then ran decides whether its crash resets the backoff.
    ready.then(() => (incarnation.readyAt = Date.now()), () => undefined);
    this.current = incarnation;
    return incarnation;
  }

  /** An incarnation ended: schedule its restart with backoff, or give up on a crash loop. */
  private onExit(incarnation: Incarnation, status: ExitStatus): void {
    if (incarnation !== this.current) return;
    const { supervision } = this.group;
    if (this.group.isStopping) {
      this.state = 'stopped';
      return;
    }
    if (incarnation.readyAt !== undefined && Date.now() - incarnation.readyAt >= supervision.resetAfterMs) this.inARow = 0;
    if (this.inARow >= supervision.maxRestarts) {
      this.state = 'crashloop';
      const why = this.hookFailure ?? whyItFailed(this.logFile, incarnation.logOffset);
      const message = `${this.name} keeps crashing (CrashLoopBackOff after ${this.restarts} restarts): ${why || `exited (${status})`} (last exit: ${status}; log: ${this.logFile})`;
      this.group.emit('crashloop', { name: this.name, restarts: this.restarts, exit: status, message, logFile: this.logFile });
      return;
    }
    this.inARow += 1;
    const delayMs = Math.min(supervision.initialBackoffMs * 2 ** (this.inARow - 1), supervision.maxBackoffMs);
    this.state = 'backoff';
    this.timer = setTimeout(() => void this.restart(), delayMs);
    this.group.emit('restarting', { name: this.name, restarts: this.restarts + 1, exit: status, delayMs });
  }

  private async restart(): Promise<void> {
    this.timer = undefined;
    if (this.group.isStopping) return;
    this.restarts += 1;
    this.state = 'restarting';
    this.hookFailure = undefined;
    const incarnation = this.launch(this.restartSpec!);
    void incarnation.exited.then((status) => this.onExit(incarnation, status));
    let ready: ReadyLine;
    try {
      ready = await incarnation.ready;
      await this.spec.afterReady?.(ready, { restarts: this.restarts });
    } catch (error) {
      // Exited before it was ready: onExit has it. Not ready in time, or its hook failed: it is
      // killed, and that exit is the crash (its reason kept, since the log cannot tell it). A hook
      // cut short by stop() is no crash: stop() is already ending this incarnation.
      if (alive(incarnation.child) && !this.group.isStopping) {
        this.hookFailure = (error as Error).message;
        killGroup(incarnation.child.pid!, 'SIGKILL');
      }
      return;
    }
    if (incarnation !== this.current || !alive(incarnation.child) || this.group.isStopping) return;
    this.ready = ready;
    this.state = 'running';
    this.group.emit('restarted', { name: this.name, pid: incarnation.child.pid!, restarts: this.restarts, ready });
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
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

/**
 * The most telling line of a crashed child's log since `fromByte` (where its incarnation started):
 * its error line, else its last "Error:" line, else its last line (a ready line says nothing).
 */
function whyItFailed(file: string, fromByte = 0): string {
  const lines = tail(file, 60, fromByte).split('\n');
  const announced = lines.map(parseServiceLine).reverse().find((l) => l?.event === 'error');
  if (announced?.event === 'error') return `${announced.code}: ${announced.message}`;
  const told = lines.filter((l) => parseServiceLine(l)?.event !== 'ready');
  return [...told].reverse().find((l) => /Error\b/.test(l))?.trim() ?? told[told.length - 1] ?? '';
}

/**
 * A listen address bound again where its first incarnation got: `host:0` becomes `host:<port>` of
 * the endpoint it reported; a fixed port or a Unix socket stays as it is (a stale socket file is
 * replaced by @reelmesh/http-kit's listen()).
 */
export function listenAgain(listen: string, endpoint: string): string {
  return listen.endsWith(':0') ? `${listen.slice(0, -1)}${new URL(endpoint).port}` : listen;
}

/** The restart argv of a process that binds `flag`: the same, with that listener where it was. */
export function bindAgain(args: string[], flag: string, endpoint: string): string[] {
  const at = args.indexOf(flag);
  if (at < 0 || at + 1 >= args.length) throw new Error(`no ${flag} <address> in ${JSON.stringify(args)}`);
  return args.map((arg, i) => (i === at + 1 ? listenAgain(arg, endpoint) : arg));
}
