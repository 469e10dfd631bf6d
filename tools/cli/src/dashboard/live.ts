// `reelmesh demo [--dashboard]`: the run, watched live by the owner's dashboard when asked, and
// its report left in the run folder either way (`reelmesh dashboard <run-dir>` shows it later).
import { buildPage, DashboardStore, emptyState, graphOf, startDashboardServer, type DashboardServer, type DashboardState } from '@reelmesh/dashboard';
import type { LocalRuntime } from '@reelmesh/runtime';
import { loadWorkflow } from '@reelmesh/workflow';
import { runWorkflow, type RunWorkflowOptions, type RunWorkflowResult } from '../run-workflow';
import { verifyMatrix, type VerifyReport } from '../verify-matrix';
import { LiveCollector } from './collector';
import { runReport, writeRunReport } from './report';

export interface Dashboard {
  server: DashboardServer;
  store: DashboardStore;
}

/** Serve a dashboard of `state` on loopback (a random port, a one-time token in `server.url`). */
export async function serveDashboard(state: DashboardState): Promise<Dashboard> {
  const store = new DashboardStore(state);
  const server = await startDashboardServer({ source: store, page: await buildPage() });
  return { server, store };
}

export interface DemoRun {
  result: RunWorkflowResult;
  /** The run's report (the dashboard's final state), also written to `<runDir>/dashboard.json`. */
  report: DashboardState;
  /** Where it was written (none with `clean`: the run folder is gone). */
  reportFile?: string;
}

/**
 * Run the workflow; with `dashboard`, watched live by it (started before anything is spawned) and
 * the access matrix tried on the live mesh before it stops. The report is written either way.
 */
export async function runDemo(options: RunWorkflowOptions & { dashboard?: Dashboard }): Promise<DemoRun> {
  const workflow = loadWorkflow(options.workflowPath);
  const dashboard = options.dashboard;
  let collector: LiveCollector | undefined;
  let matrix: VerifyReport | undefined;
  let result: RunWorkflowResult;
  try {
    result = await runWorkflow({
      ...options,
      onGroup: (group) => {
        options.onGroup?.(group);
        if (dashboard) collector = new LiveCollector(dashboard.store, workflow, group);
      },
      onRuntime: (runtime: LocalRuntime, runDir: string) => {
        options.onRuntime?.(runtime, runDir);
        collector?.attach(runtime, runDir);
      },
      beforeStop: async (runtime, finished) => {
        await options.beforeStop?.(runtime, finished);
        if (dashboard && runtime.controlPlane) matrix = await verifyMatrix(runtime);
      },
    });
  } catch (error) {
    collector?.close({ state: 'failed', error: (error as Error).message });
    throw error;
  }
  collector?.close({ state: 'done' });
  const final = dashboard?.store.state() ?? emptyState(graphOf(workflow));
  const report = await runReport({ result, workflow, state: final, matrix });
  dashboard?.store.emit({ type: 'report', report });
  const state: DashboardState = { ...(dashboard?.store.state() ?? { ...final, report }), mode: 'report' };
  // The open pages switch to the report view, as `reelmesh dashboard <run-dir>` would show it.
  dashboard?.store.emit({ type: 'snapshot', state });
  // A run asked to clean up after itself has no folder left to keep a report in.
  const reportFile = options.clean ? undefined : await writeRunReport(result.runDir, state);
  return { result, report: state, reportFile };
}
