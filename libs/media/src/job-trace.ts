import { AsyncLocalStorage } from 'node:async_hooks';

// What a media job actually ran, for the job's signed provenance record: every tool invocation
// (tool, exact version, the full argument list with the filter graph) and the digests of private
// inputs such as the colourist's LUT. Collected through AsyncLocalStorage, so the jobs keep their
// plain signatures and the agent runtime decides what to do with it (it commits to the digest).

export interface ToolInvocation {
  /** The job step inside the tool chain, e.g. 'grade', 'loudness-measure'. */
  name: string;
  tool: 'ffmpeg';
  /** The version word the binary printed (e.g. '5.1.9-0+deb12u1'). */
  version: string;
  /** Arguments as passed to the tool, with private temp paths replaced by stable names. */
  args: string[];
}

export interface JobParameters {
  invocations: ToolInvocation[];
  /** Digests of inputs that are not chunks (e.g. { lut: { sha256 } }). */
  assets: Record<string, { sha256: string }>;
}

const storage = new AsyncLocalStorage<JobParameters>();

/** Run `fn`, collecting the parameters of every media job it starts (in start order). */
export async function traceJob<T>(fn: () => Promise<T>): Promise<{ result: T; parameters: JobParameters }> {
  const parameters: JobParameters = { invocations: [], assets: {} };
  const result = await storage.run(parameters, fn);
  return { result, parameters };
}

/** A copy of what the current trace has collected so far (undefined outside traceJob). */
export function currentTrace(): JobParameters | undefined {
  const trace = storage.getStore();
  return trace && { invocations: trace.invocations.map((i) => ({ ...i, args: [...i.args] })), assets: { ...trace.assets } };
}

/** Record one tool invocation in the current trace (no-op outside traceJob). */
export function noteInvocation(invocation: ToolInvocation): void {
  storage.getStore()?.invocations.push(invocation);
}

/** Record the digest of a non-chunk input of the current job (no-op outside traceJob). */
export function noteAsset(name: string, sha256: string): void {
  const trace = storage.getStore();
  if (trace) trace.assets[name] = { sha256 };
}

/** Replace private, per-run paths (FIFOs, temp files) in arguments by stable names. */
export function stableArgs(args: string[], aliases: Record<string, string> | undefined): string[] {
  if (!aliases) return args;
  const entries = Object.entries(aliases);
  return args.map((arg) => entries.reduce((a, [path, name]) => a.split(path).join(name), arg));
}
