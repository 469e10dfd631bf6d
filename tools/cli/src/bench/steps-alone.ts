// The workflow's jobs run one at a time in this process over the same chunks: the denominator of
// the pipelining ratio (end-to-end wall time / sum of steps run alone).
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runJobsInProcess } from '@reelmesh/media';
import { REPO_ROOT } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';

/** step name -> seconds summed over every chunk (assemble: once over all chunks). */
export async function timeStepsAlone(masterPath: string, workDir: string): Promise<Record<string, number>> {
  const wf = loadWorkflow();
  const stepOfJob = new Map<string, string>(wf.steps.map((step) => [step.job, step.name]));
  const dir = await mkdtemp(join(workDir, 'steps-'));
  const totals: Record<string, number> = {};
  try {
    await runJobsInProcess({
      masterPath,
      dir,
      media: wf.media,
      lutPath: resolve(REPO_ROOT, wf.media.lut.ref),
      out: 'film.mp4',
      time: async (job, run) => {
        const start = performance.now();
        await run();
        const step = stepOfJob.get(job) ?? job;
        totals[step] = (totals[step] ?? 0) + (performance.now() - start) / 1000;
      },
    });
    return totals;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
