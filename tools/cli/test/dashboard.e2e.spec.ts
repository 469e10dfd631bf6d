// The owner's dashboard in a real browser (Debian's chromium, headless, through playwright-core):
// during a short demo the page shows every agent of the workflow, progress reaches 100%, a call
// the workflow forbids, made here through a pod's own outbound sidecar, appears as denied with the
// reason the policy gave; then the report (verification, access matrix, plots) replaces it, and
// `reelmesh dashboard <run-dir>` serves the same report from the run's folder.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handoffPath } from '@reelmesh/addressing';
import { emptyState, graphOf, type DashboardState } from '@reelmesh/dashboard';
import { launchChromium, noBrowser } from '@reelmesh/dashboard/testing';
import { REPO_ROOT } from '@reelmesh/runtime';
import { accessMatrix, buildGraph, isAllowed, loadWorkflow } from '@reelmesh/workflow';
import type { Browser, Page } from 'playwright-core';
import { runDemo, serveDashboard, type DemoRun } from '../src/dashboard/live';
import { attempt } from '../src/verify-matrix';
import { reelmesh } from './helpers';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'dashboard');
const workflow = loadWorkflow();

/** A handoff the workflow forbids: into a step's agent, from an agent that does not feed that step. */
function forbiddenCall(): { source: string; destination: string; path: string } {
  const graph = buildGraph(workflow);
  const matrix = accessMatrix(workflow);
  for (const edge of workflow.edges) {
    const destination = graph.agentOf(edge.to)!;
    const path = handoffPath({ workflowId: workflow.metadata.id, step: edge.to, artifact: edge.artifact, chunkIndex: 0 });
    const source = workflow.agents.map((a) => a.name).find((a) => a !== destination && !isAllowed(matrix, a, destination, 'POST', path));
    if (source) return { source, destination, path };
  }
  throw new Error('every agent may call every other: this spec needs a forbidden handoff');
}

const reason = noBrowser();
if (reason) console.warn(`SKIPPED dashboard browser test: ${reason}`);

describe.skipIf(reason)('the owner dashboard, in chromium', () => {
  const out = mkdtempSync(join(tmpdir(), 'reelmesh-dashboard-'));
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('shows the run live, the forbidden call denied with its reason, then the report; the run folder serves it again', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const dashboard = await serveDashboard(emptyState(graphOf(workflow)));
    browser = await launchChromium();
    const page: Page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const elsewhere: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (r) => void (r.url().startsWith(dashboard.server.origin) || elsewhere.push(r.url())));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
    await page.goto(dashboard.server.url);
    // The token was spent on the way in: the page's address no longer holds it.
    expect(page.url()).not.toContain('token=');

    const forbidden = forbiddenCall();
    let denial: { status: number; code?: string } | undefined;
    let run: DemoRun;
    try {
      run = await runDemo({
        durationSeconds: 2,
        outDir: out,
        dashboard,
        beforeStop: async (runtime) => {
          // Every agent of the workflow is drawn, and the whole film got through.
          for (const agent of workflow.agents) await page.locator(`[data-agent="${agent.name}"]`).first().waitFor({ state: 'visible', timeout: 30_000 });
          await page.locator('#overall-progress', { hasText: '100%' }).waitFor({ timeout: 30_000 });
          // The forbidden call, from the source app's own seat (its outbound sidecar and pod token).
          const seat = runtime.agents[forbidden.source];
          denial = await attempt(seat.pod!.outboundUrl, forbidden.destination, 'POST', forbidden.path, { headers: seat.headers });
          const row = page.locator('[data-decision="denied"]').filter({ hasText: forbidden.path }).filter({ hasText: forbidden.source });
          await row.first().waitFor({ state: 'visible', timeout: 30_000 });
          // The reason shown is the one the destination's policy sidecar gave (as the ledger recorded it).
          const logged = dashboard.store.state().decisions.recent.find((d) => !d.allowed && d.path === forbidden.path && d.source === forbidden.source);
          expect(logged?.destination).toBe(forbidden.destination);
          expect(logged?.reason).toMatch(/^(?!allowed$)\S+/);
          expect(await row.first().textContent()).toContain(logged!.reason);
          await page.screenshot({ path: join(ARTIFACTS, 'demo-live.png'), fullPage: true });
        },
      });
    } catch (error) {
      await page.screenshot({ path: join(ARTIFACTS, 'demo-failed.png'), fullPage: true }).catch(() => undefined);
      throw error;
    }
    expect(denial).toMatchObject({ status: 403, code: 'POLICY_DENIED' });

    // The report replaces the live view: the deliverable verified, the matrix as the workflow wants it.
    const report = run.report.report!;
    expect(report.verification.ok).toBe(true);
    expect(report.matrix).toMatchObject({ unexpectedAllows: 0, unexpectedDenies: 0, agents: workflow.agents.map((a) => a.name) });
    await page.locator('#access-matrix').waitFor({ state: 'visible', timeout: 30_000 });
    for (const id of ['plot-timeline', 'plot-agents', 'plot-startup']) await page.locator(`#${id} canvas, #${id} svg`).first().waitFor({ timeout: 10_000 });
    expect(await page.locator('.mismatch').count()).toBe(0);
    // What was sealed at rest is counted, and shown.
    expect(run.report.kms.sealedBytes).toBeGreaterThan(0);
    expect(await page.locator('#kms-total').textContent()).toMatch(/\d(\.\d)? (B|KiB|MiB|GiB) sealed/);
    // The ledger's latest signed checkpoint reached the page while the run went on.
    expect(run.report.ledger.checkpoint?.signedBy).toMatch(/^spiffe:\/\//);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-report.png'), fullPage: true });
    expect(statSync(join(ARTIFACTS, 'demo-report.png')).size).toBeGreaterThan(10_000);
    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
    await dashboard.server.close();

    // Later, from the run's folder alone.
    let pid = 0;
    let printed = '';
    let gotUrl: (url: string) => void = () => undefined;
    const urlPrinted = new Promise<string>((resolve) => (gotUrl = resolve));
    const served = reelmesh(['dashboard', run.result.runDir, '--json'], {
      onSpawn: (p) => (pid = p),
      onStdout: (chunk) => {
        printed += chunk;
        const line = printed.split('\n').find((l) => l.startsWith('{') && l.endsWith('}'));
        if (line) gotUrl((JSON.parse(line) as { url: string }).url);
      },
    });
    const url = await Promise.race([urlPrinted, served.then((r) => Promise.reject(new Error(`reelmesh dashboard exited (${r.code}): ${r.stderr}`)))]);
    const again = await browser.newPage();
    await again.goto(url);
    await again.locator('#access-matrix').waitFor({ state: 'visible', timeout: 30_000 });
    const state = (await again.evaluate(() => fetch('/api/state').then((r) => r.json()))) as DashboardState;
    expect(state.mode).toBe('report');
    expect(state.report?.verification.ok).toBe(true);
    process.kill(pid, 'SIGINT');
    expect((await served).code).toBe(0);
  }, 600_000);

  it('reelmesh up --dashboard prints a one-time link whose page follows the mesh; Ctrl-C stops both', async () => {
    let pid = 0;
    let printed = '';
    let gotUp: (line: { dashboard: string }) => void = () => undefined;
    const upLine = new Promise<{ dashboard: string }>((resolve) => (gotUp = resolve));
    const up = reelmesh(['up', '--json', '--dashboard', '--dir', join(out, 'up')], {
      onSpawn: (p) => (pid = p),
      onStdout: (chunk) => {
        printed += chunk;
        const line = printed.split('\n').find((l) => l.startsWith('{') && l.endsWith('}'));
        if (line) gotUp(JSON.parse(line) as { dashboard: string });
      },
    });
    const { dashboard: url } = await Promise.race([upLine, up.then((r) => Promise.reject(new Error(`reelmesh up exited (${r.code}): ${r.stderr}`)))]);
    const page = await (browser ??= await launchChromium()).newPage();
    await page.goto(url);
    // Every agent of the workflow is up and shown ready (nothing runs: no master was handed over).
    for (const agent of workflow.agents) await page.locator(`[data-agent="${agent.name}"][data-state="ready"]`).waitFor({ timeout: 60_000 });
    const state = (await page.evaluate(() => fetch('/api/state').then((r) => r.json()))) as DashboardState;
    // Three processes a pod, plus the control plane and the KMS, each with its start-up time.
    expect(Object.keys(state.processes)).toHaveLength(workflow.agents.length * 3 + 2);
    expect(Object.values(state.processes).every((p) => p.state === 'running' && typeof p.startupMs === 'number')).toBe(true);
    // The link was spent by that page: another browser gets a JSON refusal.
    const other = await (await browser.newContext()).newPage();
    const refused = await other.goto(url);
    expect(refused?.status()).toBe(403);
    expect(JSON.parse(await refused!.text())).toMatchObject({ error: { code: 'TOKEN_USED' } });
    process.kill(pid, 'SIGINT');
    expect((await up).code).toBe(0);
  }, 300_000);

  it('a folder without a report is one clear line, not a server', async () => {
    const answer = await reelmesh(['dashboard', out]);
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim().split('\n')).toHaveLength(1);
    expect(answer.stderr).toMatch(/has no dashboard\.json: it is not a ReelMesh run folder/);
  });
});
