import type { Command } from 'commander';
import { SUITES, parseSuites } from '../bench/config';
import { runBench } from '../bench/run-bench';

interface BenchCliOptions {
  out: string;
  quick?: boolean;
  only?: string;
  startupRounds?: string;
  json?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure the cost of the security layers (start-up, requests, end to end, envelope, mesh) and the film quality, and write a report')
    .option('--out <dir>', 'where report.json, report.md and the SVG plots are written', './bench-out')
    .option('--quick', 'few observations, short masters (a smoke run: a couple of minutes, plus several for the quality suite)')
    .option('--only <suites>', `comma-separated subset of ${SUITES.join(',')}`)
    .option('--startup-rounds <n>', 'start-ups per setting in the start-up study (default: 130, or 1 with --quick)')
    .option('--json', 'print a JSON summary as the last line of stdout')
    .action(async (opts: BenchCliOptions) => {
      const suites = parseSuites(opts.only);
      const startupRounds = opts.startupRounds === undefined ? undefined : Number(opts.startupRounds);
      if (startupRounds !== undefined && !(Number.isInteger(startupRounds) && startupRounds >= 1 && startupRounds <= 10_000)) {
        throw new Error(`--startup-rounds takes a whole number from 1 to 10000, got ${JSON.stringify(opts.startupRounds)}`);
      }
      // Progress goes to stderr so stdout holds only the report's summary.
      const started = Date.now();
      const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
      const outcome = await runBench({ outDir: opts.out, quick: Boolean(opts.quick), suites, startupRounds, log });
      if (opts.json) process.stdout.write(`${JSON.stringify(outcome.summary)}\n`);
      else process.stdout.write(`report written to ${outcome.outDir}: ${outcome.files.join(', ')}\n`);
    });
}
