import type { ChildProcess } from 'node:child_process';
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { FfmpegCommand } from 'fluent-ffmpeg';
import { ffmpegPath, ffmpegThreads } from './binaries';
import { outputArgs } from './codec-args';
import { classifyFfmpegFailure, MediaError } from './errors';
import { ffmpegVersion } from './ffmpeg-version';
import { createFifo, type Fifo } from './fifo';
import { noteInvocation, stableArgs } from './job-trace';
import type { Source } from './settings';

/**
 * fluent-ffmpeg, loaded by the first job rather than when the agent starts: it stays outside the
 * bundles (libs/deploy bundle.ts), and loading it from node_modules cost every agent's start about
 * 30 ms of CPU for a module no start-up path uses.
 */
type CreateCommand = (options: { stdoutLines: number }) => FfmpegCommand;
let fluent: Promise<CreateCommand> | undefined;
function fluentFfmpeg(): Promise<CreateCommand> {
  return (fluent ??= import('fluent-ffmpeg').then((m) => m.default));
}

export interface FfmpegJob {
  /** Job name, used in error messages. */
  name: string;
  /** Piped to ffmpeg's stdin; becomes input #0 (build() adds its input options). */
  source?: Source;
  /** Receives ffmpeg's stdout; build() sets its output options (format etc.). */
  output?: Writable;
  /** Aborting kills ffmpeg and rejects with MEDIA_ABORTED. */
  signal?: AbortSignal;
  /** Log level: 'error' keeps stderr to the point; measuring jobs need 'info'. */
  logLevel?: 'error' | 'info';
  /** Adds inputs, filters, codecs and (for file outputs) the output itself. */
  build(command: FfmpegCommand): void;
  /** Private per-run paths (FIFOs, temp files) and the stable names the job trace records instead. */
  pathAliases?: Record<string, string>;
  /**
   * More streamed outputs of the same run, after the main one: each is written by ffmpeg to a FIFO
   * (ffmpeg has one stdout) and copied into `output`, ended and failed exactly like the main one.
   * One process making several outputs reads and demuxes its input once (demux: picture and sound).
   * `name` is what the trace records for the FIFO's path; `args` are the output's own options.
   */
  sideOutputs?: Array<{ name: string; args: string[]; output: Writable }>;
}

/** Resolves with ffmpeg's stderr tail once ffmpeg exited 0 AND the output finished.
 * On any failure: ffmpeg is killed and reaped, the input destroyed, the output destroyed with the
 * error (so a sealing writer never commits a partial object), and the promise rejects. */
export async function runFfmpeg(job: FfmpegJob): Promise<string> {
  if (job.signal?.aborted) throw new MediaError('MEDIA_ABORTED', `${job.name}: aborted before start`);
  await assertExecutable(ffmpegPath(), job.name);
  const version = await ffmpegVersion();
  const ffmpeg = await fluentFfmpeg();
  const input = job.source ? await openSource(job.source, job.name) : undefined;
  if (input && (input.destroyed || input.errored)) {
    input.destroy();
    throw new MediaError('MEDIA_INPUT_FAILED', `${job.name}: input stream failed before start: ${input.errored?.message ?? 'destroyed'}`);
  }

  const command = ffmpeg({ stdoutLines: 200 }).setFfmpegPath(ffmpegPath());
  if (input) command.input(input);
  const fifos: Fifo[] = [];
  const sides: Array<{ fifo: Fifo; output: Writable }> = [];
  try {
    job.build(command);
    for (const side of job.sideOutputs ?? []) {
      const fifo = await createFifo(`${side.name}.pipe`);
      fifos.push(fifo);
      sides.push({ fifo, output: side.output });
    }
  } catch (err) {
    input?.destroy();
    await Promise.all(fifos.map((f) => f.dispose()));
    throw err;
  }
  command.addOption('-hide_banner', '-nostdin', '-nostats', '-loglevel', job.logLevel ?? 'error');
  // Options of every output (fluent-ffmpeg gives options to the output defined last).
  const perOutput = [
    '-threads', String(ffmpegThreads()),
    // Same input and parameters, same bytes (a job re-run after a crash must not conflict with the
    // copy already handed on): the muxer writes no random segment/track UIDs, no muxing date and no
    // library version. Muxing only; codecs and their settings are untouched (docs/media.md, "Determinism").
    '-fflags', '+bitexact',
  ];
  command.addOption(...perOutput);
  if (job.output) command.output(job.output, { end: false });
  const aliases = { ...job.pathAliases };
  (job.sideOutputs ?? []).forEach((side, i) => {
    command.output(sides[i].fifo.path);
    outputArgs(command, [...side.args, ...perOutput]);
    aliases[sides[i].fifo.path] = side.name;
  });
  // What exactly runs goes into the job's provenance (tool, version, full argument list).
  const args = (command as unknown as { _getArguments(): string[] })._getArguments();
  noteInvocation({ name: job.name, tool: 'ffmpeg', version: version.raw, args: stableArgs(args, Object.keys(aliases).length > 0 ? aliases : undefined) });
  try {
    return await runCommand(job, command, input, sides);
  } finally {
    await Promise.all(fifos.map((f) => f.dispose()));
  }
}

function runCommand(job: FfmpegJob, command: FfmpegCommand, input: Readable | undefined, sides: Array<{ fifo: Fifo; output: Writable }>): Promise<string> {
  // Each side output's FIFO is opened for reading before ffmpeg runs (ffmpeg's open for writing
  // waits for it); its bytes go into the output, which is ended only once ffmpeg exited 0.
  const copies = sides.map(({ fifo, output }) => {
    const reader = createReadStream(fifo.path, { highWaterMark: 1 << 16 });
    reader.pipe(output, { end: false });
    const ended = new Promise<void>((resolve, reject) => {
      reader.once('end', resolve);
      reader.once('error', reject);
      output.once('error', reject);
    });
    ended.catch(() => undefined); // observed in succeed / fail
    return { reader, output, ended };
  });

  return new Promise<string>((resolve, reject) => {
    let proc: ChildProcess | undefined;
    let exited: Promise<void> = Promise.resolve();
    let stdoutEnded: Promise<void> = Promise.resolve();
    let settled = false;

    const cleanup = () => job.signal?.removeEventListener('abort', onAbort);

    const fail = (error: MediaError) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      input?.destroy();
      job.output?.destroy(error);
      for (const copy of copies) {
        copy.reader.unpipe(copy.output);
        copy.reader.destroy();
        copy.output.destroy(error);
      }
      // Reject only once the process is gone: no orphans behind a settled promise.
      void exited.then(() => reject(error));
    };

    const succeed = async (stderr: string) => {
      if (settled) return;
      try {
        await stdoutEnded;
        if (job.output) await endWritable(job.output);
        for (const copy of copies) {
          await copy.ended;
          await endWritable(copy.output);
        }
      } catch (err) {
        return fail(new MediaError('MEDIA_OUTPUT_FAILED', `${job.name}: output failed: ${(err as Error).message}`, { cause: err }));
      }
      if (settled) return;
      settled = true;
      cleanup();
      input?.destroy(); // ffmpeg may have stopped reading early (e.g. -t); release the source
      resolve(stderr);
    };

    // Watch the input ourselves too: fluent-ffmpeg only listens once ffmpeg has started, and a
    // stream closed without an error would otherwise leave ffmpeg waiting on stdin forever.
    input?.once('error', (err) => fail(new MediaError('MEDIA_INPUT_FAILED', `${job.name}: input stream failed: ${err.message}`, { cause: err })));
    input?.once('close', () => {
      if (!input.readableEnded) fail(new MediaError('MEDIA_INPUT_FAILED', `${job.name}: input stream closed before its end`));
    });

    for (const copy of copies) {
      copy.ended.catch((err: Error) => fail(new MediaError('MEDIA_OUTPUT_FAILED', `${job.name}: output stream failed: ${err.message}`, { cause: err })));
    }

    const onAbort = () => fail(new MediaError('MEDIA_ABORTED', `${job.name}: aborted`));
    job.signal?.addEventListener('abort', onAbort, { once: true });

    command.on('start', (line: string) => {
      if (process.env.REELMESH_MEDIA_DEBUG) process.stderr.write(`[media] ${line}\n`);
      proc = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      if (!proc) return;
      const child = proc;
      exited = new Promise<void>((done) => {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) done();
        child.once('exit', () => done());
        child.once('error', () => done());
      });
      if (job.output && child.stdout) {
        const stdout = child.stdout;
        stdoutEnded = new Promise<void>((done) => {
          if (stdout.readableEnded) done();
          stdout.once('end', done);
          stdout.once('close', done);
        });
      }
    });

    command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
      const err = error as Error & { inputStreamError?: Error; outputStreamError?: Error };
      if (err.outputStreamError) {
        fail(new MediaError('MEDIA_OUTPUT_FAILED', `${job.name}: output stream failed: ${err.outputStreamError.message}`, { cause: err.outputStreamError }));
      } else if (err.inputStreamError) {
        fail(new MediaError('MEDIA_INPUT_FAILED', `${job.name}: input stream failed: ${err.inputStreamError.message}`, { cause: err.inputStreamError }));
      } else if (/ENOENT|EACCES/.test(err.message)) {
        fail(new MediaError('MEDIA_JOB_FAILED', `${job.name}: cannot run ffmpeg at ${ffmpegPath()}: ${err.message}`, { cause: err }));
      } else {
        fail(classifyFfmpegFailure(job.name, stderr ?? '', err.message.split(':')[0]));
      }
    });

    command.on('end', (_stdout: string | null, stderr: string | null) => void succeed(stderr ?? ''));

    command.run();
  });
}

/** Opens a Source, turning a throw or rejection into a MediaError. */
export async function openSource(source: Source, job: string): Promise<Readable> {
  try {
    return await source();
  } catch (err) {
    throw new MediaError('MEDIA_INPUT_FAILED', `${job}: cannot open input: ${(err as Error).message}`, { cause: err });
  }
}

/** fluent-ffmpeg crashes on a spawn error (ENOENT), so check the binary first. */
async function assertExecutable(path: string, job: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch (err) {
    throw new MediaError('MEDIA_JOB_FAILED', `${job}: cannot run ffmpeg at ${path} (set FFMPEG_PATH): ${(err as Error).message}`, { cause: err });
  }
}

function endWritable(output: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (output.writableFinished) return resolve();
    if (output.destroyed) return reject(new Error('output was destroyed'));
    const onError = (err: Error) => reject(err);
    output.once('error', onError);
    output.end(() => {
      output.off('error', onError);
      resolve();
    });
  });
}

/** Runs `step` (a job's own preparation, e.g. probing its input) before its ffmpeg; if it fails,
 * the output is destroyed with the error as runFfmpeg would: a consumer never takes it as complete. */
export async function beforeJob<T>(out: Writable, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (out.listenerCount('error') === 0) out.once('error', () => undefined); // the caller gets the error from our rejection
    out.destroy(err as Error);
    throw err;
  }
}
