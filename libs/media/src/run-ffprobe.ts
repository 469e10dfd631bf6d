import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ffprobePath } from './binaries';
import { classifyFfmpegFailure, MediaError } from './errors';
import { openSource } from './run-ffmpeg';
import type { Source } from './settings';

/** Where ffprobe reads from: a file path, or a Source streamed through stdin. */
export type ProbeInput = string | Source;

/** Runs ffprobe, handing each stdout line to onLine (so long outputs are never held whole).
 * Resolves when ffprobe exited 0; kills it and destroys the input on failure. */
export async function runFfprobe(name: string, args: string[], input: ProbeInput, onLine: (line: string) => void): Promise<void> {
  const stdin = typeof input === 'string' ? undefined : await openSource(input, name);
  const target = typeof input === 'string' ? input : 'pipe:0';
  const child = spawn(ffprobePath(), ['-hide_banner', '-v', 'error', ...args, '-i', target], {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });

  if (!child.stdout || !child.stderr) throw new MediaError('MEDIA_JOB_FAILED', `${name}: ffprobe has no stdio`);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192); // keep the tail only
  });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', onLine);
  const stdoutDone = new Promise<void>((resolve) => lines.once('close', resolve));

  if (stdin && child.stdin) {
    // ffprobe stops reading once it has seen enough; the broken pipe that follows is expected.
    child.stdin.on('error', () => undefined);
    stdin.on('error', () => child.kill('SIGKILL'));
    stdin.pipe(child.stdin);
  }

  let inputError: Error | undefined;
  stdin?.once('error', (err) => (inputError = err));

  const [code, spawnError] = await new Promise<[number | null, Error | undefined]>((resolve) => {
    child.once('error', (err) => resolve([null, err]));
    child.once('close', (exitCode) => resolve([exitCode, undefined]));
  });
  await stdoutDone;
  stdin?.destroy();

  if (spawnError) throw new MediaError('MEDIA_JOB_FAILED', `${name}: cannot run ffprobe at ${ffprobePath()}: ${spawnError.message}`, { cause: spawnError });
  if (inputError) throw new MediaError('MEDIA_INPUT_FAILED', `${name}: input stream failed: ${inputError.message}`, { cause: inputError });
  if (code !== 0) throw classifyFfmpegFailure(name, stderr, `ffprobe exited with code ${code}`);
}
