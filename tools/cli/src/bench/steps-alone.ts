// The workflow's jobs run one at a time in this process over the same chunks: the denominator of
// the pipelining ratio (end-to-end wall time / sum of steps run alone). The steps are the
// workflow's own (never a list written here): each step is charged the time of its job over every
// chunk, so two steps running the same job are each charged it once.
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runJobsInProcess } from '@reelmesh/media';
import { REPO_ROOT } from '@reelmesh/runtime';
import { buildGraph, loadWorkflow, type Workflow } from '@reelmesh/workflow';
import { procCpuSeconds } from './proc-cpu';

export interface StepsAlone {
  /** step name -> seconds summed over every chunk (assemble: once over all chunks), in topological order. */
  seconds: Record<string, number>;
  /** The workflow's steps whose job the in-process run does not perform (a contractor's own job): not timed. */
  untimed: string[];
  /**
   * step -> CPU seconds of its job over every chunk: its ffmpeg/ffprobe processes (user + system)
   * plus this process's own share (piping). Against `seconds` it shows which jobs use both cores
   * alone and what a chunk costs the machine when agents run jobs at once (where the time goes).
   * Absent where the OS does not report children's CPU time (/proc).
   */
  cpuSeconds?: Record<string, number>;
}

/** Charges each step of `wf` its job's time (`jobSeconds`: job -> seconds); steps of other jobs are untimed. */
export function stepsAloneOf(wf: Workflow, jobSeconds: Readonly<Record<string, number>>): StepsAlone {
  const graph = buildGraph(wf);
  const seconds: Record<string, number> = {};
  const untimed: string[] = [];
  for (const name of graph.topoOrder) {
    const { job } = graph.step(name)!;
    if (Object.hasOwn(jobSeconds, job)) seconds[name] = jobSeconds[job];
    else untimed.push(name);
  }
  return { seconds, untimed };
}

export async function timeStepsAlone(masterPath: string, workDir: string, wf: Workflow = loadWorkflow()): Promise<StepsAlone> {
  const dir = await mkdtemp(join(workDir, 'steps-'));
  const jobSeconds: Record<string, number> = {};
  const jobCpu: Record<string, number> = {};
  const selfCpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  const cpuNow = childrenCpuSeconds() === undefined ? undefined : () => childrenCpuSeconds()! + selfCpu();
  try {
    await runJobsInProcess({
      masterPath,
      dir,
      media: wf.media,
      lutPath: resolve(REPO_ROOT, wf.media.lut.ref),
      out: 'film.mp4',
      time: async (job, run) => {
        const start = performance.now();
        const cpu = cpuNow?.();
        await run();
        jobSeconds[job] = (jobSeconds[job] ?? 0) + (performance.now() - start) / 1000;
        if (cpu !== undefined) jobCpu[job] = (jobCpu[job] ?? 0) + cpuNow!() - cpu;
      },
    });
    const alone = stepsAloneOf(wf, jobSeconds);
    return cpuNow ? { ...alone, cpuSeconds: stepsAloneOf(wf, jobCpu).seconds } : alone;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system) of this process's children that have exited, from /proc (Linux); undefined elsewhere. */
const childrenCpuSeconds = () => procCpuSeconds('self', 'children');
