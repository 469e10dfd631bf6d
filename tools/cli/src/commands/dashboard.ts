import type { Command } from 'commander';
import { serveDashboard } from '../dashboard/live';
import { readRunReport } from '../dashboard/report';
import { untilSignal } from './demo';

/** `reelmesh dashboard <run-dir>`: a finished run's report, from its folder, on loopback until Ctrl-C. */
export function registerDashboard(program: Command): void {
  program
    .command('dashboard <run-dir>')
    .description("serve a finished run's report (its folder's dashboard.json) as the owner's dashboard on loopback, until Ctrl-C")
    .option('--json', 'print {"url": ...} as one JSON line once serving')
    .action(async (runDir: string, opts: { json?: boolean }) => {
      const state = await readRunReport(runDir);
      const { server } = await serveDashboard(state);
      if (opts.json) process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
      else process.stdout.write(`dashboard: ${server.url}\nCtrl-C stops serving it\n`);
      await untilSignal();
      await server.close();
    });
}
