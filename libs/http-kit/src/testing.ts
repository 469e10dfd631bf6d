// Starting a program as a real process in tests, the way the runtime does: wait for its ready line
// (or its error line), then talk to the endpoints it reported.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseServiceLine, type ErrorLine, type ReadyLine } from './service-line';

export interface StartedProgram {
  child: ChildProcess;
  ready: ReadyLine;
  /** stdout lines printed after the ready line (an access log, say). */
  lines: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code (or signal name). */
  stop(): Promise<number | string>;
}

/** `node --import tsx <main> ...args`; resolves on the ready line, rejects on the error line or an early exit. */
export function startProgram(main: string, args: string[] = [], env: Record<string, string> = {}): Promise<StartedProgram> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const lines: string[] = [];
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    let ready: ReadyLine | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready) return void lines.push(line);
      const parsed = parseServiceLine(line);
      if (parsed?.event !== 'ready') return;
      ready = parsed;
      resolve({ child, ready, lines, stderr: () => stderr, stop });
    });
    void exited.then((code) => {
      if (!ready) reject(Object.assign(new Error(`${main} exited (${code}) before it was ready: ${stderr.trim()}`), { errorLine: lastErrorLine(stderr) }));
    });
  });
}

/** A program expected to refuse to start: its exit code, its error line and everything it printed. */
export function runProgramToExit(main: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; errorLine?: ErrorLine; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, errorLine: lastErrorLine(stderr), stdout, stderr }));
  });
}

function lastErrorLine(text: string): ErrorLine | undefined {
  const lines = text.trim().split('\n').map(parseServiceLine);
  return lines.reverse().find((l): l is ErrorLine => l?.event === 'error');
}

/** Peak resident set size of a process in bytes (Linux /proc). */
export function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(m[1]) * 1024;
}
