import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ffprobePath } from '@reelmesh/media';
import { REPO_ROOT } from '@reelmesh/runtime';

const run = promisify(execFile);
export const CLI = resolve(REPO_ROOT, 'tools/cli/bin/reelmesh.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI as a process. */
export function reelmesh(
  args: string[],
  opts: { onSpawn?: (pid: number) => void; onStdout?: (chunk: string) => void; onStderr?: (chunk: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(String(d));
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(String(d));
    });
    opts.onSpawn?.(child.pid!);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

export interface ProbeJson {
  format: { duration: string };
  streams: Array<Record<string, string | number | undefined>>;
  frames: Array<{ side_data_list?: Array<{ side_data_type: string }> }>;
}

export async function ffprobeJson(path: string, args: string[]): Promise<ProbeJson> {
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-of', 'json', ...args, path], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/** Processes whose environment names this data root (our agents), found through /proc. */
export function processesUsing(dataRoot: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(dataRoot)) pids.push(Number(entry));
    } catch {
      // process gone or not ours
    }
  }
  return pids;
}
