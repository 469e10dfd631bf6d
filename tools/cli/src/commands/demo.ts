import { existsSync } from 'node:fs';
import { attestationPathOf } from '@reelmesh/provenance';
import type { Command } from 'commander';
import { assertIsolationSupport } from '@reelmesh/netns';
import type { ProcessGroup } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { graphOf, emptyState } from '@reelmesh/dashboard';
import { serveDashboard, runDemo, type Dashboard } from '../dashboard/live';
import { createProgress } from '../progress';
import type { SampleFormat } from '../run-workflow';

interface DemoOptions {
  input?: string;
  duration: string;
  out: string;
  dataRoot?: string;
  json?: boolean;
  clean?: boolean;
  workflow?: string;
  mesh: boolean;
  encryption: boolean;
  isolation: string;
  sampleSize: string;
  sampleRate: string;
  sampleChannels: string;
  resume?: string;
  chaosEvery?: string;
  chaosSeed?: string;
  dashboard?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole workflow on this machine, every agent its own process')
    .option('--input <file>', 'master to process (default: a generated sample)')
    .option('--duration <seconds>', 'length of the generated sample', '60')
    .option('--sample-size <WxH>', 'picture size of the generated sample', '1280x720')
    .option('--sample-rate <fps>', 'frame rate of the generated sample (25, 24, 24000/1001, 30000/1001, 50, ...)', '25')
    .option('--sample-channels <n>', 'sound channels of the generated sample: 1, 2 or 6 (5.1)', '2')
    .option('--out <dir>', 'where the deliverable is written', './out')
    .option('--data-root <dir>', 'folder for every agent volume (default: a new folder under --out)')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--clean', 'delete the data root after the run')
    .option('--no-mesh', 'no proxy/policy sidecars: agents call each other in plain HTTP (baseline only)')
    .option('--no-encryption', 'store plaintext volumes (baseline only)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .option('--isolation <mode>', 'none (processes on loopback) or netns (each pod in its own network namespace; Linux, root)', 'none')
    .option('--chaos-every <seconds>', 'kill -9 a random process of the mesh this often through the run (every kind at least once); the run must survive')
    .option('--chaos-seed <n>', 'seed of the chaos victims (replay a run)')
    .option('--dashboard', "serve the owner's dashboard on loopback (a one-time link is printed): the run live, then its report, until Ctrl-C")
    .option('--resume <run-dir>', 'continue a run that stopped (the CLI died, a deadline passed) from its folder: nothing finished is done again')
    .action(async (opts: DemoOptions) => {
      if (opts.isolation !== 'none' && opts.isolation !== 'netns') throw new Error(`--isolation must be none or netns, got ${JSON.stringify(opts.isolation)}`);
      if (opts.isolation === 'netns') assertIsolationSupport();
      const durationSeconds = Number(opts.duration);
      if (!Number.isFinite(durationSeconds) || durationSeconds <= 0 || durationSeconds > 6 * 3600) {
        throw new Error(`--duration must be a number of seconds between 0 and 21600, got ${JSON.stringify(opts.duration)}`);
      }
      // The dashboard serves the run's report from its run folder, which --clean deletes.
      if (opts.clean && opts.dashboard) throw new Error('--clean and --dashboard cannot be combined: the dashboard serves the report from the run folder that --clean deletes');
      const sample = parseSampleOptions(opts);
      const chaosEvery = opts.chaosEvery === undefined ? undefined : Number(opts.chaosEvery);
      if (chaosEvery !== undefined && !(chaosEvery >= 0.5 && chaosEvery <= 3600)) throw new Error(`--chaos-every must be a number of seconds between 0.5 and 3600, got ${JSON.stringify(opts.chaosEvery)}`);
      const chaosSeed = opts.chaosSeed === undefined ? undefined : Number(opts.chaosSeed);
      if (chaosSeed !== undefined && !Number.isSafeInteger(chaosSeed)) throw new Error(`--chaos-seed must be an integer, got ${JSON.stringify(opts.chaosSeed)}`);
      let group: ProcessGroup | undefined;
      const workflow = loadWorkflow(opts.workflow);
      let dashboard: Dashboard | undefined;
      const onSignal = () => {
        process.stderr.write('\nstopping every agent...\n');
        void (group?.stop(5_000) ?? Promise.resolve()).then(() => dashboard?.server.close()).then(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const progress = createProgress(workflow.steps.map((s) => s.name));
      let failure: Error | undefined;
      try {
        if (opts.dashboard) {
          dashboard = await serveDashboard(emptyState(graphOf(workflow)));
          progress.line(`dashboard: ${dashboard.server.url}`);
        }
        const { result, reportFile } = await runDemo({
          input: opts.input,
          durationSeconds,
          sample,
          outDir: opts.out,
          dataRoot: opts.dataRoot,
          clean: opts.clean,
          workflowPath: opts.workflow,
          mesh: opts.mesh,
          isolation: opts.isolation as 'none' | 'netns',
          encryption: opts.encryption,
          progress,
          onGroup: (g) => (group = g),
          resume: opts.resume,
          dashboard,
          ...(chaosEvery ? { chaos: { everyMs: chaosEvery * 1000, seed: chaosSeed } } : {}),
        }).catch((error: Error) => {
          if (!dashboard) throw error;
          failure = error;
          return { result: undefined, reportFile: undefined };
        });
        if (!result) {
          // The dashboard stays up with the errors that ended the run.
          process.stderr.write(`the run failed: ${failure?.message}\n`);
        } else if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(`deliverable: ${result.deliverable}\n`);
          if (result.format) process.stdout.write(`format: ${result.format.summary}\n`);
          process.stdout.write(`${result.chunks} chunks in ${result.wallSeconds.toFixed(1)} s; data root: ${result.dataRoot}\n`);
          const restarted = Object.entries(result.restarts);
          if (restarted.length > 0) process.stdout.write(`survived: ${restarted.map(([name, n]) => `${name} restarted ${n}x`).join(', ')}\n`);
          if (result.chaos) process.stdout.write(`chaos: ${result.chaos.kills.length} processes killed (${Object.entries(result.chaos.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}), all survived\n`);
          if (opts.resume) process.stdout.write(`resumed: ${result.resumed.done} step chunks already done, ${result.resumed.resent} re-sent, ${result.resumed.rescheduled} run again\n`);
          if (result.caBundle && existsSync(result.caBundle) && existsSync(attestationPathOf(result.deliverable))) {
            process.stdout.write(`attested by the owner: ${attestationPathOf(result.deliverable)}; check it with: reelmesh verify ${result.deliverable} --ca ${result.caBundle}\n`);
          }
          if (reportFile) process.stdout.write(`report: ${reportFile}; see it with: reelmesh dashboard ${result.runDir}\n`);
        }
        if (dashboard) {
          process.stderr.write(`dashboard: the report is at ${dashboard.server.origin}/ (the browser that opened the link); Ctrl-C stops serving it\n`);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await untilSignal();
          await dashboard.server.close();
        }
        if (failure) throw failure;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** Resolves on the first Ctrl-C (or SIGTERM). */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/** The generated sample's own format (the workflow keeps whatever the master has). */
function parseSampleOptions(opts: DemoOptions): SampleFormat {
  const size = /^(\d{2,5})x(\d{2,5})$/.exec(opts.sampleSize);
  if (!size || Number(size[1]) % 2 || Number(size[2]) % 2) throw new Error(`--sample-size must be WIDTHxHEIGHT with even numbers, got ${JSON.stringify(opts.sampleSize)}`);
  if (!/^\d{1,6}(\/\d{1,5})?$/.test(opts.sampleRate) || !(Number(opts.sampleRate.split('/')[0]) > 0)) {
    throw new Error(`--sample-rate must be a frame rate such as 25 or 24000/1001, got ${JSON.stringify(opts.sampleRate)}`);
  }
  const channels = Number(opts.sampleChannels);
  if (channels !== 1 && channels !== 2 && channels !== 6) throw new Error(`--sample-channels must be 1, 2 or 6, got ${JSON.stringify(opts.sampleChannels)}`);
  return { width: Number(size[1]), height: Number(size[2]), frameRate: opts.sampleRate, channels };
}
