// Spawns the mesh's main.ts entry points as real processes (tests and benchmarks only).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const PROXY_MAIN = fileURLToPath(new URL('../proxy/main.ts', import.meta.url));
export const CONTROL_PLANE_MAIN = fileURLToPath(new URL('../control-plane/main.ts', import.meta.url));

export interface Spawned<T> {
  child: ChildProcess;
  ready: T;
  /** Lines printed after the ready line (e.g. access log). */
  lines: string[];
  stop(): Promise<void>;
}

/** Starts `node --import tsx <main>` and resolves with its parsed JSON ready line. */
export function spawnMain<T>(main: string, args: string[], env: Record<string, string> = {}): Promise<Spawned<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: string[] = [];
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let ready: T | undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (ready) return void lines.push(line);
      ready = JSON.parse(line) as T;
      resolve({ child, ready, lines, stop });
    });
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`${main} exited with ${code} before ready: ${stderr}`));
    });
  });
}

/** Peak resident set size of a process in bytes (Linux /proc). */
export function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for pid ${pid}`);
  return Number(m[1]) * 1024;
}
