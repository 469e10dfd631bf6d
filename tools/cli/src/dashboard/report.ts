// The report a finished run leaves in its folder (`dashboard.json`): the dashboard's last state
// with the run's result, the deliverable's own verification, the access matrix tried on the live
// mesh before it stopped, and the timings. `reelmesh dashboard <run-dir>` serves it as it is.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { emptyState, graphOf, type DashboardState, type MatrixCell, type RunReport } from '@reelmesh/dashboard';
import { verifyDeliverable, type DeliverableFailure } from '@reelmesh/provenance';
import { writeFileAtomic } from '@reelmesh/storage';
import type { Workflow } from '@reelmesh/workflow';
import { readRunFile, RUN_MANIFEST } from '../run-folder';
import type { RunWorkflowResult } from '../run-workflow';
import type { VerifyReport } from '../verify-matrix';

export const RUN_REPORT = 'dashboard.json';

const ATTESTATION_FAILURES = new Set<DeliverableFailure>(['attestation-missing', 'attestation-malformed', 'certificate', 'signature', 'not-owner', 'wrong-workflow']);
const FILE_FAILURES = new Set<DeliverableFailure>(['truncated', 'size', 'digest']);

/** The deliverable's check, as `reelmesh verify <deliverable> --ca` makes it, in the report's words. */
export async function verificationOf(result: RunWorkflowResult, workflow: Workflow): Promise<RunReport['verification']> {
  if (!result.caBundle || !existsSync(result.caBundle)) return { ok: false, summary: 'not verifiable: the run was made without the mesh, so nothing was signed', checks: [] };
  const report = await verifyDeliverable(result.deliverable, workflow, await readFile(result.caBundle, 'utf8'));
  const refused = report.chunks.filter((c) => !c.ok);
  // verifyDeliverable stops at the first failure: the attestation, then the file, then the chunks.
  const stage = !report.failure ? 3 : ATTESTATION_FAILURES.has(report.failure) ? 0 : FILE_FAILURES.has(report.failure) ? 1 : 2;
  const check = (name: string, at: number, detail: string | undefined): RunReport['verification']['checks'][number] =>
    at < stage ? { name, ok: true, ...(detail ? { detail } : {}) } : at === stage ? { name, ok: false, detail: report.error } : { name, ok: false, detail: 'not checked: an earlier check failed' };
  const checks: RunReport['verification']['checks'] = [
    check('attestation signed by the owner, for this workflow', 0, report.signer && `${report.signer} at ${report.producedAt}`),
    check('deliverable matches its attested sha256 and size', 1, report.sha256 && `sha256 ${report.sha256} (${report.bytes} bytes)`),
    check('every chunk chained to signed records', 2, refused.length ? refused.map((c) => `chunk ${c.chunkIndex}: ${c.error}`).join('; ') : `${report.chunks.length} of ${report.chunkCount} chunks`),
    { name: 'policy bundle in force recorded', ok: Boolean(report.policy), detail: report.policy ? `revision ${report.policy.revision}${report.policy.signed ? ', signed' : ', unsigned'}` : 'not recorded' },
  ];
  return {
    ok: report.ok,
    summary: report.ok ? `deliverable ok: sha256 ${report.sha256}, ${report.chunkCount} chunks, every chain verified` : `deliverable REFUSED (${report.failure}): ${report.error}`,
    checks,
  };
}

/** The access matrix as the report's grid: one cell per (source, destination). */
export function matrixOf(report: VerifyReport, agents: string[]): NonNullable<RunReport['matrix']> {
  const cells: MatrixCell[] = [];
  for (const source of agents)
    for (const destination of agents) {
      const rows = report.rows.filter((r) => r.source === source && r.destination === destination);
      cells.push({
        source,
        destination,
        attempts: rows.length,
        expectedAllowed: rows.filter((r) => r.expected === 'allow').length,
        allowed: rows.filter((r) => r.actual === 'allow').length,
        mismatches: rows.filter((r) => r.actual !== r.expected).length,
      });
    }
  return { agents, attempts: report.attempts, unexpectedAllows: report.unexpectedAllows, unexpectedDenies: report.unexpectedDenies, cells };
}

/** The run's report from its result and the dashboard's state when it ended (or an empty one). */
export async function runReport(opts: { result: RunWorkflowResult; workflow: Workflow; state?: DashboardState; matrix?: VerifyReport }): Promise<RunReport> {
  const { result, workflow } = opts;
  const state = opts.state ?? emptyState(graphOf(workflow));
  const startupMs = Object.fromEntries(
    Object.values(state.processes)
      .filter((p) => p.startupMs !== undefined)
      .map((p) => [p.name, p.startupMs as number]),
  );
  return {
    version: 1,
    workflowId: workflow.metadata.id,
    runDir: result.runDir,
    finishedAt: new Date().toISOString(),
    result: {
      deliverable: result.deliverable,
      chunks: result.chunks,
      ...(result.format ? { format: result.format.summary } : {}),
      wallSeconds: result.wallSeconds,
      startupSeconds: result.startupSeconds,
      runSeconds: result.runSeconds,
      steps: result.steps,
      busySeconds: result.busySeconds,
      kmsCalls: result.kmsCalls,
      provenance: { recordsSigned: result.provenance.recordsSigned, chainsVerified: result.provenance.chainsVerified, signMs: result.provenance.signMs, verifyMs: result.provenance.verifyMs },
      restarts: result.restarts,
      security: result.security,
    },
    verification: await verificationOf(result, workflow),
    ...(opts.matrix ? { matrix: matrixOf(opts.matrix, workflow.agents.map((a) => a.name)) } : {}),
    startupMs,
    timeline: state.timeline,
    decisions: { allowed: state.decisions.allowed, denied: state.decisions.denied },
    ledger: state.ledger,
  };
}

/** Write the finished dashboard (its state in report mode) into the run folder. */
export async function writeRunReport(runDir: string, state: DashboardState): Promise<string> {
  const file = join(runDir, RUN_REPORT);
  await writeFileAtomic(file, `${JSON.stringify({ ...state, mode: 'report' })}\n`, { mode: 0o600 });
  return file;
}

/** A run folder's report, checked enough that the page can draw it; a clear one-line error otherwise. */
export async function readRunReport(runDir: string): Promise<DashboardState> {
  const { file, text } = await readRunFile(runDir, RUN_REPORT, () => {
    const hint = existsSync(join(resolve(runDir), RUN_MANIFEST)) ? 'the run has not finished (or was made before reports existed)' : 'it is not a ReelMesh run folder';
    return `${resolve(runDir)} has no ${RUN_REPORT}: ${hint}; pass the run folder a finished demo printed`;
  });
  let state: DashboardState;
  try {
    state = JSON.parse(text) as DashboardState;
  } catch (error) {
    throw new Error(`${file} is not JSON (${(error as Error).message})`);
  }
  if (state?.version !== 1 || !state.graph || !Array.isArray(state.graph.agents) || !state.report || state.report.version !== 1) {
    throw new Error(`${file} is not a run report this version can show`);
  }
  return { ...state, mode: 'report' };
}
