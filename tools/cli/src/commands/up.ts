import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { assertIsolationSupport, cleanupStale } from '@reelmesh/netns';
import { emptyState, graphOf } from '@reelmesh/dashboard';
import { parseIsolation, ProcessGroup, runFolders, startLocalRuntime, type LocalRuntime } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { LiveCollector } from '../dashboard/collector';
import { serveDashboard, type Dashboard } from '../dashboard/live';

interface UpOptions {
  workflow?: string;
  dir?: string;
  isolation: string;
  cleanup?: boolean;
  json?: boolean;
  dashboard?: boolean;
}

function describe(runtime: LocalRuntime): string {
  const rows = Object.values(runtime.agents).map((a) => {
    const where = a.netns ? `netns ${a.netns.ns} ${a.netns.address}:${a.netns.inboundPort} (mTLS)` : a.pod ? `inbound ${a.pod.inboundUrl}` : '';
    return `${a.agent.padEnd(8)} app ${a.url}  ${where}`;
  });
  return rows.join('\n');
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start every pod and the control plane and keep them running until Ctrl-C')
    .option('--workflow <file>', 'workflow file (default: policies/workflow.yaml)')
    .option('--dir <dir>', 'folder for volumes, logs and state (default: a new temp folder)')
    .option('--isolation <mode>', 'none (processes on loopback) or netns (each pod in its own network namespace; Linux, root)', 'none')
    .option('--cleanup', 'remove namespaces, veths and bridges left by crashed isolated runs, then exit')
    .option('--json', 'print the pods as one JSON line once up')
    .option('--dashboard', "serve the owner's dashboard on loopback (a one-time link is printed) while the mesh is up")
    .action(async (opts: UpOptions) => {
      if (opts.cleanup) {
        assertIsolationSupport();
        const removed = await cleanupStale();
        process.stdout.write(`removed ${removed.namespaces.length} namespaces and ${removed.links.length} links${removed.namespaces.length ? `: ${[...removed.namespaces, ...removed.links].join(' ')}` : ''}\n`);
        return;
      }
      const isolation = parseIsolation(opts.isolation);
      if (isolation === 'netns') assertIsolationSupport();
      const dir = opts.dir ? resolve(opts.dir) : await mkdtemp(join(tmpdir(), 'reelmesh-up-'));
      let dashboard: Dashboard | undefined;
      let collector: LiveCollector | undefined;
      const group = new ProcessGroup();
      if (opts.dashboard) {
        const workflow = loadWorkflow(opts.workflow);
        dashboard = await serveDashboard(emptyState(graphOf(workflow)));
        collector = new LiveCollector(dashboard.store, workflow, group);
        process.stderr.write(`dashboard: ${dashboard.server.url}\n`);
      }
      const runtime = await startLocalRuntime({
        workflowPath: opts.workflow,
        ...runFolders(dir),
        isolation,
        group,
      }).catch(async (error: Error) => {
        collector?.close({ state: 'failed', error: error.message });
        await dashboard?.server.close();
        throw error;
      });
      collector?.attach(runtime, dir);
      if (opts.json) {
        const pods = Object.values(runtime.agents).map((a) => ({ agent: a.agent, url: a.url, outboundUrl: a.pod?.outboundUrl, inboundUrl: a.pod?.inboundUrl, netns: a.netns }));
        process.stdout.write(`${JSON.stringify({ event: 'up', dir, isolation, pods, ...(dashboard ? { dashboard: dashboard.server.url } : {}) })}\n`);
      } else process.stdout.write(`${describe(runtime)}\n\nup (${isolation}); logs in ${join(dir, 'state', 'logs')}; Ctrl-C stops everything\n`);
      // Supervised like pods on a node: a process that dies is restarted (said here); one that keeps
      // crashing brings everything down with its reason.
      runtime.group.on('restarting', (e) => process.stderr.write(`${e.name} exited (${e.exit}): restarting it in ${(e.delayMs / 1000).toFixed(1)} s (restart ${e.restarts})\n`));
      const crashed = await new Promise<string | undefined>((resolveStop) => {
        const stop = (why?: string) => {
          process.stderr.write('stopping every pod...\n');
          void runtime
            .stop(5_000)
            .then(() => collector?.close())
            .then(() => dashboard?.server.close())
            .then(() => resolveStop(why));
        };
        process.once('SIGINT', () => stop());
        process.once('SIGTERM', () => stop());
        runtime.group.once('crashloop', (e) => stop(e.message));
      });
      if (crashed) throw new Error(crashed);
    });
}
