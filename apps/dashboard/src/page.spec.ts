// The dashboard page in a real browser (Debian's chromium via playwright-core): served by the real
// server, fed by the real store, every view checked through what a person would see.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildPage, DashboardStore, graphOf, startDashboardServer, type DashboardServer } from '@reelmesh/dashboard';
import { launchChromium, noBrowser } from '@reelmesh/dashboard/testing';
import type { AgentView, DashboardEvent, GraphView, RunReport } from '@reelmesh/dashboard/model';
import { parseWorkflow, REPO_ROOT } from '@reelmesh/workflow';
import { FILM_SHAPED, MINI } from '@reelmesh/workflow/testing';

const skip = noBrowser();
if (skip) console.warn(`apps/dashboard page.spec: skipped — ${skip}`);

const SCREENSHOT = join(REPO_ROOT, 'test-artifacts/dashboard/page.png');
const REPORT_SCREENSHOT = join(REPO_ROOT, 'test-artifacts/dashboard/report.png');
const FILM_SCREENSHOT = join(REPO_ROOT, 'test-artifacts/dashboard/film-graph.png');
const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const CHUNKS = 6;

function agentView(graph: GraphView, name: string, over: Partial<AgentView>): AgentView {
  const a = graph.agents.find((x) => x.name === name);
  if (!a) throw new Error(`no agent ${name}`);
  return { name, actor: a.actor, state: 'ready', active: 0, queued: 0, steps: {}, ...over };
}

function reportOf(graph: GraphView): RunReport {
  const agents = graph.agents.map((a) => a.name);
  const [first, second] = agents;
  const cells = agents.flatMap((source) =>
    agents
      .filter((d) => d !== source)
      .map((destination) => {
        const expected = graph.arrows.some((e) => e.from === source && e.to === destination) ? 2 : 0;
        // One cell whose outcome differed from the workflow's expectation: the mismatch to flag.
        const mismatch = source === second && destination === first ? 1 : 0;
        return { source, destination, attempts: 2, expectedAllowed: expected, allowed: expected > 0 ? expected - mismatch : mismatch, mismatches: mismatch };
      }),
  );
  if (cells.filter((c) => c.mismatches > 0).length !== 1) throw new Error('the test graph gives no cell for the mismatch');
  return {
    version: 1,
    workflowId: graph.id,
    runDir: '/tmp/runs/mini-1',
    finishedAt: at(40),
    result: {
      deliverable: '/tmp/runs/mini-1/out/mini.mkv',
      chunks: CHUNKS,
      format: 'matroska',
      wallSeconds: 40.2,
      startupSeconds: 3.1,
      runSeconds: 37.1,
      steps: Object.fromEntries(agents.map((a, i) => [a, 20 + i * 5])),
      busySeconds: Object.fromEntries(agents.map((a, i) => [a, 12 + i * 3])),
      kmsCalls: 24,
      provenance: { recordsSigned: 18, chainsVerified: 12, signMs: 4, verifyMs: 9 },
      restarts: Object.fromEntries(agents.map((a, i) => [a, i === 0 ? 1 : 0])),
      security: { mesh: true, encryption: true },
    },
    verification: {
      ok: true,
      summary: 'mini.mkv: 6 chunks, every provenance chain verified against the CA',
      checks: [
        { name: 'container and streams', ok: true },
        { name: 'provenance chains', ok: true, detail: '6 of 6' },
      ],
    },
    matrix: { agents, attempts: cells.length * 2, unexpectedAllows: 1, unexpectedDenies: 0, cells },
    startupMs: Object.fromEntries(agents.flatMap((a, i) => [[`${a}/app`, 900 + i * 200], [`${a}/proxy`, 300 + i * 50]])),
    timeline: [0, 10, 20, 30, 40].map((t) => ({ t, done: Object.fromEntries(graph.steps.map((s, i) => [s.name, Math.min(CHUNKS, Math.max(0, Math.round((t / 40) * CHUNKS) - i))])) })),
    decisions: { allowed: 2, denied: 1 },
    ledger: { entries: 31, head: 'sha256:ffeeddccbbaa99887766', checkpoint: { index: 3, from: 21, to: 30, head: 'sha256:00112233445566778899', time: at(38), signedBy: 'owner' } },
  };
}

describe.skipIf(skip)('the dashboard page (chromium)', () => {
  const graph = graphOf(parseWorkflow(MINI));
  const agents = graph.agents.map((a) => a.name);
  const store = new DashboardStore(graph);
  let server: DashboardServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const emit = (...events: DashboardEvent[]) => events.forEach((e) => store.emit(e));

  beforeAll(async () => {
    server = await startDashboardServer({ source: store, page: await buildPage() });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(server.url);
    await page.locator('#connection.conn-connected').waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws every agent of the graph inside its actor, with the arrows', async () => {
    for (const name of agents) {
      const node = page.locator(`[data-agent="${name}"]`);
      await expect.poll(() => node.count()).toBe(1);
      expect(await node.getAttribute('data-state')).toBe('starting');
      expect(await node.textContent()).toContain('starting');
    }
    for (const actor of graph.actors) expect(await page.locator(`[data-actor="${actor.name}"]`).textContent()).toContain(actor.name);
    expect(await page.locator('.arrow').count()).toBe(new Set(graph.arrows.map((a) => `${a.from}>${a.to}`)).size);
    for (const artifact of new Set(graph.arrows.map((a) => a.artifact))) expect(await page.locator('svg.graph').textContent()).toContain(artifact);
    expect(await page.locator('#run-title').textContent()).toBe(graph.title);
  });

  it('shows each agent state, queue and the chunks there as they change', async () => {
    const [first, second] = agents;
    emit(
      { type: 'run', run: { state: 'running', chunks: CHUNKS, startedAt: at(0) } },
      { type: 'agent', agent: agentView(graph, first, { state: 'ready' }) },
      { type: 'agent', agent: agentView(graph, second, { state: 'busy', active: 2, queued: 3, kms: { generateDataKey: 4, decrypt: 7, failures: 0 }, provenance: { recordsSigned: 5, chainsVerified: 6, signMs: 1, verifyMs: 2 } }) },
      { type: 'chunk', position: { chunk: 0, agent: second, step: graph.agents[1].steps[0], time: at(1) } },
      { type: 'chunk', position: { chunk: 1, agent: second, step: graph.agents[1].steps[0], time: at(1) } },
    );
    const busy = page.locator(`[data-agent="${second}"]`);
    await expect.poll(() => busy.getAttribute('data-state')).toBe('busy');
    const text = await busy.textContent();
    expect(text).toContain('busy');
    expect(text).toContain('2 active · 3 queued');
    expect(text).toContain('chunks here: 2');
    expect(await page.locator(`[data-agent="${first}"]`).getAttribute('data-state')).toBe('ready');
    expect(await page.locator('#run-status').textContent()).toContain('running');
    expect(await page.locator('#run-status').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#kms-total').textContent()).toContain('4 GenerateDataKey');
    expect(await page.locator('#verified').textContent()).toContain('6');
  });

  it('shows progress per step and overall, up to 100%', async () => {
    const [s0, s1] = graph.steps;
    emit({ type: 'progress', progress: { step: s0.name, agent: s0.agent, done: 3, total: CHUNKS, chunksPerSecond: 1.5 } });
    await expect.poll(() => page.locator(`[data-step="${s0.name}"] [data-role="percent"]`).textContent()).toBe('50%');
    expect(await page.locator(`[data-step="${s0.name}"]`).textContent()).toContain('1.50 chunks/s');
    expect(await page.locator(`[data-step="${s1.name}"] [data-role="percent"]`).textContent()).toBe('—');
    // A burst: many events, the page keeps the last.
    for (let done = 0; done <= CHUNKS; done++) for (const s of graph.steps) emit({ type: 'progress', progress: { step: s.name, agent: s.agent, done, total: CHUNKS, chunksPerSecond: 2 } });
    for (const s of graph.steps) await expect.poll(() => page.locator(`[data-step="${s.name}"] [data-role="percent"]`).textContent()).toBe('100%');
    expect(await page.locator('#overall-progress').textContent()).toContain('100%');
  });

  it('lists policy decisions, highlights the denied ones and filters them', async () => {
    const [first, second] = agents;
    emit(
      { type: 'decision', decision: { id: 'd1', time: at(2), agent: second, source: first, destination: second, method: 'POST', path: '/v1/handoff/av', allowed: true, reason: 'workflow edge split -> demux' } },
      { type: 'decision', decision: { id: 'd2', time: at(3), agent: first, source: second, destination: first, method: 'GET', path: '/v1/chunks/0', allowed: false, reason: 'no workflow edge lets fx-1 read chunks' } },
      { type: 'decision', decision: { id: 'd3', time: at(4), agent: first, source: second, destination: first, method: 'POST', path: '/v1/handoff/picture', allowed: true, reason: 'workflow edge demux -> assemble' } },
    );
    const rows = page.locator('#decisions tbody tr[data-decision]');
    await expect.poll(() => rows.count()).toBe(3);
    const denied = page.locator('#decisions tr[data-decision="denied"]');
    expect(await denied.count()).toBe(1);
    expect(await denied.getAttribute('class')).toContain('denied');
    expect(await denied.textContent()).toContain('denied');
    expect(await denied.textContent()).toContain('no workflow edge lets fx-1 read chunks');
    expect(await rows.first().textContent()).toContain('/v1/handoff/picture'); // newest first
    expect(await page.locator('#denied-count').textContent()).toBe('1 denied');

    await page.locator('#denied-only').check();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await page.locator('#decisions tr[data-decision="allowed"]').count()).toBe(0);
    await page.locator('#denied-only').uncheck();
    await expect.poll(() => rows.count()).toBe(3);

    await page.locator('#decision-filter').fill('demux');
    await expect.poll(() => rows.count()).toBe(2);
    await page.locator('#decision-filter').fill('/v1/chunks');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-decision')).toBe('denied');
    await page.locator('#decision-filter').fill('');
    await expect.poll(() => rows.count()).toBe(3);
  });

  it('shows provenance refusals, the ledger checkpoint, processes and errors with their log line', async () => {
    const [first, second] = agents;
    emit(
      { type: 'refusal', refusal: { time: at(5), agent: first, from: second, step: graph.steps[1].name, artifact: 'picture', chunk: 4, reason: 'record 3 signed by fx-2, expected fx-1' } },
      { type: 'ledger', ledger: { entries: 31, head: 'sha256:ffeeddccbbaa99887766', checkpoint: { index: 3, from: 21, to: 30, head: 'sha256:00112233445566778899', time: at(6), signedBy: 'owner' } } },
      { type: 'error', error: { time: at(7), source: `${second}/app`, message: 'the picture job failed', logLine: '{"level":50,"msg":"ffmpeg exited with code 1"}' } },
      ...agents.flatMap((a, i): DashboardEvent[] => [
        { type: 'process', process: { name: `${a}/app`, agent: a, role: 'app', state: 'running', startupMs: 900 + i * 200, restarts: i } },
        { type: 'process', process: { name: `${a}/proxy`, agent: a, role: 'proxy', state: 'running', startupMs: 300, restarts: 0 } },
      ]),
    );
    await expect.poll(() => page.locator('#refusals').textContent()).toContain('record 3 signed by fx-2, expected fx-1');
    expect(await page.locator('#refusals').textContent()).toContain('chunk 4');
    const ledger = await page.locator('#ledger').textContent();
    expect(ledger).toContain('#3');
    expect(ledger).toContain('21..30');
    expect(ledger).toContain('001122334455…');
    expect(ledger).toContain('owner');
    expect(await page.locator('#errors pre code').textContent()).toBe('{"level":50,"msg":"ffmpeg exited with code 1"}');
    expect(await page.locator('#errors').textContent()).toContain('the picture job failed');
    const procs = page.locator('#processes tbody tr[data-process]');
    expect(await procs.count()).toBe(agents.length * 2);
    expect(await page.locator(`#processes tr[data-process="${second}/app"]`).textContent()).toContain('1100 ms');
  });

  it('shows the report: verification, the access matrix with its mismatch, the timings plotted', async () => {
    const report = reportOf(graph);
    expect(await page.locator('#report').isVisible()).toBe(false);
    emit({ type: 'run', run: { state: 'done', chunks: CHUNKS, startedAt: at(0), finishedAt: at(40), deliverable: report.result.deliverable, format: 'matroska' } }, { type: 'report', report });
    await page.locator('#report').waitFor({ state: 'visible' });
    expect(await page.locator('#run-facts').textContent()).toContain(report.result.deliverable);
    expect(await page.locator('#verification').textContent()).toContain('Verification passed');
    expect(await page.locator('#verification').textContent()).toContain(report.verification.summary);

    const matrix = page.locator('table#access-matrix');
    const cols = await matrix.locator('thead th[scope="col"]').allTextContents();
    const rows = await matrix.locator('tbody th[scope="row"]').allTextContents();
    expect(rows.sort()).toEqual([...agents].sort());
    expect(cols.slice(1).sort()).toEqual([...agents].sort());
    const bad = report.matrix?.cells.find((c) => c.mismatches > 0);
    const good = report.matrix?.cells.find((c) => c.mismatches === 0);
    if (!bad || !good) throw new Error('the report has no mismatch cell and no good one');
    const badCell = matrix.locator(`td[data-source="${bad.source}"][data-destination="${bad.destination}"]`);
    expect(await badCell.getAttribute('class')).toContain('mismatch');
    expect(await badCell.textContent()).toContain(`${bad.allowed}/${bad.attempts}`);
    expect(await badCell.textContent()).toContain('!');
    expect(await badCell.textContent()).toContain(`exp ${bad.expectedAllowed}`);
    const goodCell = matrix.locator(`td[data-source="${good.source}"][data-destination="${good.destination}"]`);
    expect(await goodCell.getAttribute('class')).not.toContain('mismatch');
    expect(await goodCell.textContent()).not.toContain('!');
    expect(await matrix.locator('td.mismatch').count()).toBe(1);

    for (const id of ['plot-timeline', 'plot-agents', 'plot-startup']) expect(await page.locator(`#${id}`).locator('canvas, svg').count(), id).toBeGreaterThan(0);
    expect(await page.locator('#plot-timeline .u-legend').textContent()).toContain(graph.steps[0].name);
    expect(await page.locator('#plot-startup').textContent()).toContain(`${agents[0]}/app`);
    const numbers = await page.locator('#result-numbers').textContent();
    expect(numbers).toContain('40.2 s');
    expect(numbers).toContain('24');
    expect(numbers).toContain('18 signed · 12 verified');

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.locator('#decision-filter').blur();
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });

  it('leads with the report in report mode (a new snapshot replaces the state)', async () => {
    emit({ type: 'snapshot', state: { ...store.state(), mode: 'report' } });
    await expect.poll(() => page.locator('main > section').first().getAttribute('id')).toBe('report');
    expect(await page.locator('#report').isVisible()).toBe(true);
    expect(await page.locator('#run-sub').textContent()).toContain('report');
    await page.screenshot({ path: REPORT_SCREENSHOT, fullPage: true });
    expect(statSync(REPORT_SCREENSHOT).size).toBeGreaterThan(10_000);
  });

  it('is operable by keyboard: Tab reaches the decision filter, with a visible focus outline', async () => {
    const fresh = await context.newPage();
    fresh.on('request', (r) => requests.push(r.url()));
    fresh.on('pageerror', (e) => consoleErrors.push(String(e)));
    await fresh.goto(`${server.origin}/`); // the session cookie is already set
    await fresh.locator('#connection.conn-connected').waitFor();
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await fresh.keyboard.press('Tab');
      reached = await fresh.evaluate(() => document.activeElement?.id === 'decision-filter');
    }
    expect(reached).toBe(true);
    const outline = await fresh.evaluate(() => {
      const s = getComputedStyle(document.activeElement as Element);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(outline.style).not.toBe('none');
    expect(outline.width).toBeGreaterThanOrEqual(2);
    await fresh.keyboard.press('Tab');
    expect(await fresh.evaluate(() => document.activeElement?.id)).toBe('denied-only');
    await fresh.keyboard.press('Space');
    expect(await fresh.locator('#denied-only').isChecked()).toBe(true);
    await fresh.close();
  });

  it('shows a failed verification and a report without matrix, timeline or start-up times', async () => {
    const report = reportOf(graph);
    emit({
      type: 'report',
      report: {
        ...report,
        verification: { ok: false, summary: 'chunk 4: provenance chain broken', checks: [{ name: 'provenance chains', ok: false, detail: '5 of 6' }] },
        matrix: undefined,
        timeline: [],
        startupMs: {},
      },
    });
    await expect.poll(() => page.locator('#verification').textContent()).toContain('Verification FAILED');
    expect(await page.locator('#verification li').first().textContent()).toContain('fail');
    expect(await page.locator('#matrix-summary').textContent()).toContain('No access matrix');
    expect(await page.locator('#access-matrix td').count()).toBe(0);
    expect(await page.locator('#plot-startup').textContent()).toContain('No start-up times recorded');
    // the timeline falls back to the live one (none was pushed here): an empty chart, still drawn
    expect(await page.locator('#plot-timeline canvas').count()).toBeGreaterThan(0);
  });

  it('asked nothing of any other origin, and logged no error', () => {
    expect(requests.length).toBeGreaterThan(3);
    const origin = server.origin;
    expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

describe.skipIf(skip)('the dashboard page with a film-shaped workflow (chromium)', () => {
  it('draws seven agents of five actors without overlap, every arrow labelled', async () => {
    const graph = graphOf(parseWorkflow(FILM_SHAPED));
    const store = new DashboardStore(graph);
    const server = await startDashboardServer({ source: store, page: await buildPage() });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      await page.goto(server.url);
      await page.locator('#connection.conn-connected').waitFor();
      const boxes = [];
      for (const a of graph.agents) {
        const node = page.locator(`[data-agent="${a.name}"]`);
        await node.waitFor();
        const box = await node.locator('.agent-box').boundingBox();
        const actor = await page.locator(`[data-actor="${a.actor}"] .actor-box`).boundingBox();
        if (!box || !actor) throw new Error(`${a.name} is not drawn`);
        expect(box.x >= actor.x && box.y >= actor.y && box.x + box.width <= actor.x + actor.width + 1 && box.y + box.height <= actor.y + actor.height + 1, `${a.name} inside ${a.actor}`).toBe(true);
        boxes.push({ name: a.name, ...box });
      }
      for (const a of boxes) for (const b of boxes) if (a.name < b.name) expect(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y, `${a.name} / ${b.name}`).toBe(true);
      expect(await page.locator('.arrow').count()).toBe(new Set(graph.arrows.map((e) => `${e.from}>${e.to}`)).size);
      mkdirSync(dirname(FILM_SCREENSHOT), { recursive: true });
      await page.locator('#graph-section').screenshot({ path: FILM_SCREENSHOT });
    } finally {
      await browser.close();
      await server.close();
    }
  });
});
