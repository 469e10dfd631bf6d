import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emptyState, type DecisionView, type RunReport, type StepProgress, type TimelinePoint } from '@reelmesh/dashboard/model';
import { graphOf } from '@reelmesh/dashboard';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { agentEdges, layoutGraph, NODE_HEIGHT, NODE_WIDTH } from './layout';
import {
  agentTimes,
  chunksByAgent,
  clockTime,
  contrastRatio,
  filterDecisions,
  matrixGrid,
  overallProgress,
  percentText,
  SERIES_COLOURS,
  shortHash,
  startupBars,
  timelineData,
  timelineSteps,
} from './view';

const step = (s: string, done: number, total: number): StepProgress => ({ step: s, agent: 'a', done, total, chunksPerSecond: 0 });
const decision = (id: string, allowed: boolean, over: Partial<DecisionView> = {}): DecisionView => ({
  id,
  time: '2026-12-01T00:00:00Z',
  agent: 'fx-1',
  source: 'owner',
  destination: 'fx-1',
  method: 'POST',
  path: '/v1/handoff',
  allowed,
  reason: allowed ? 'edge split->demux' : 'no edge',
  ...over,
});

describe('percentText / overallProgress', () => {
  it('never says 100% before every chunk is done, and says it once they are', () => {
    expect(percentText(999, 1000)).toBe('99%');
    expect(percentText(1000, 1000)).toBe('100%');
    expect(percentText(0, 4)).toBe('0%');
    expect(percentText(1, 3)).toBe('33%');
    expect(percentText(3, 0)).toBe('—');
  });

  it('sums done and total over the steps whose total is known', () => {
    const o = overallProgress({ a: step('a', 4, 4), b: step('b', 2, 4), c: step('c', 5, 0) });
    expect(o).toEqual({ done: 6, total: 8, percent: '75%' });
    expect(overallProgress({ a: step('a', 6, 4) }).percent).toBe('100%');
  });
});

describe('chunksByAgent', () => {
  it('counts each chunk at the agent it was last seen at', () => {
    const at = (chunk: number, agent: string) => ({ chunk, agent, step: 's', time: '' });
    const count = chunksByAgent({ 0: at(0, 'owner'), 1: at(1, 'fx-1'), 2: at(2, 'fx-1') });
    expect(Object.fromEntries(count)).toEqual({ owner: 1, 'fx-1': 2 });
  });
});

describe('filterDecisions', () => {
  const recent = [decision('1', true), decision('2', false, { path: '/v1/keys', reason: 'KMS is the owner only' }), decision('3', true, { source: 'fx-1', destination: 'owner' })];

  it('lists newest first', () => {
    expect(filterDecisions(recent, { text: '', deniedOnly: false }).map((d) => d.id)).toEqual(['3', '2', '1']);
  });

  it('keeps only the denied ones when asked', () => {
    expect(filterDecisions(recent, { text: '', deniedOnly: true }).map((d) => d.id)).toEqual(['2']);
  });

  it('matches source, destination, path and reason, ignoring case', () => {
    expect(filterDecisions(recent, { text: 'KEYS', deniedOnly: false }).map((d) => d.id)).toEqual(['2']);
    expect(filterDecisions(recent, { text: 'owner only', deniedOnly: false }).map((d) => d.id)).toEqual(['2']);
    expect(filterDecisions(recent, { text: ' fx-1 ', deniedOnly: false }).map((d) => d.id)).toEqual(['3', '2', '1']);
    expect(filterDecisions(recent, { text: 'nothing like it', deniedOnly: false })).toEqual([]);
    expect(filterDecisions(recent, { text: 'POST', deniedOnly: false })).toEqual([]); // the method is not searched
  });
});

describe('matrixGrid', () => {
  it('puts sources in rows and destinations in columns, in the matrix order', () => {
    const cell = (source: string, destination: string, mismatches = 0) => ({ source, destination, attempts: 2, expectedAllowed: 1, allowed: 1, mismatches });
    const grid = matrixGrid({ agents: ['owner', 'fx-1', 'x'], attempts: 6, unexpectedAllows: 1, unexpectedDenies: 0, cells: [cell('fx-1', 'owner'), cell('owner', 'fx-1', 1), cell('x', 'owner')] });
    expect(grid.rows).toEqual(['owner', 'fx-1', 'x']);
    expect(grid.columns).toEqual(['owner', 'fx-1']);
    expect(grid.cell('owner', 'fx-1')?.mismatches).toBe(1);
    expect(grid.cell('owner', 'owner')).toBeUndefined();
  });
});

describe('formatting', () => {
  it('shortens hashes and reads times as UTC clock times', () => {
    expect(shortHash('sha256:0123456789abcdef0123')).toBe('0123456789ab…');
    expect(shortHash('abc')).toBe('abc');
    expect(shortHash(undefined)).toBe('—');
    expect(clockTime('2026-12-01T13:04:05.123Z')).toBe('13:04:05');
    expect(clockTime('not a time')).toBe('not a time');
  });
});

describe('report data', () => {
  it('makes one timeline series per step, in the graph order, with gaps where a point has no value', () => {
    const points: TimelinePoint[] = [{ t: 2, done: { b: 1, a: 2 } }, { t: 1, done: { a: 1 } }];
    const steps = timelineSteps(points, ['a', 'b', 'c']);
    expect(steps).toEqual(['a', 'b']);
    expect(timelineData(points, steps)).toEqual({ x: [1, 2], series: [{ step: 'a', values: [1, 2] }, { step: 'b', values: [null, 1] }] });
  });

  it('pairs each agent with its wall and busy seconds', () => {
    const result = { steps: { 'fx-1': 10, owner: 4 }, busySeconds: { owner: 3, 'fx-1': 6 } } as unknown as RunReport['result'];
    expect(agentTimes(result, ['owner', 'fx-1'])).toEqual({ agents: ['owner', 'fx-1'], wall: [4, 10], busy: [3, 6] });
  });

  it('orders start-up times slowest first', () => {
    expect(startupBars({ a: 10, b: 300, c: 20 }).map((r) => r.name)).toEqual(['b', 'c', 'a']);
  });
});

describe('layoutGraph', () => {
  const graph = graphOf(parseWorkflow(MINI));

  it('places every agent inside its actor box, and no two agents overlap', () => {
    const layout = layoutGraph(graph);
    expect(layout.agents.map((a) => a.name).sort()).toEqual(graph.agents.map((a) => a.name).sort());
    for (const agent of layout.agents) {
      const box = layout.actors.find((a) => a.name === agent.actor);
      expect(box, agent.name).toBeDefined();
      if (!box) continue;
      expect(agent.x).toBeGreaterThanOrEqual(box.x);
      expect(agent.y).toBeGreaterThanOrEqual(box.y);
      expect(agent.x + NODE_WIDTH).toBeLessThanOrEqual(box.x + box.width + 0.5);
      expect(agent.y + NODE_HEIGHT).toBeLessThanOrEqual(box.y + box.height + 0.5);
      expect(agent.y).toBeGreaterThanOrEqual(0);
    }
    const [a, b] = layout.agents;
    const apart = a.x + NODE_WIDTH <= b.x || b.x + NODE_WIDTH <= a.x || a.y + NODE_HEIGHT <= b.y || b.y + NODE_HEIGHT <= a.y;
    expect(apart).toBe(true);
  });

  it('draws one arrow per pair of agents, labelled with its artifacts, left to right for the first hop', () => {
    const layout = layoutGraph(graph);
    expect(layout.edges.map((e) => `${e.from}>${e.to}:${e.label}`).sort()).toEqual(['fx-1>owner:picture', 'owner>fx-1:av']);
    for (const e of layout.edges) expect(e.points.length).toBeGreaterThanOrEqual(2);
    const first = layout.edges.find((e) => e.from === 'owner');
    expect(first && first.points[first.points.length - 1].x > first.points[0].x).toBe(true);
  });

  it('merges the arrows between the same two agents', () => {
    const g = { ...emptyState(graph).graph, arrows: [...graph.arrows, { from: 'owner', to: 'fx-1', fromStep: 'split', toStep: 'demux', artifact: 'sound' }] };
    expect(agentEdges(g).find((e) => e.from === 'owner')?.artifacts).toEqual(['av', 'sound']);
  });
});

describe('palette (WCAG AA)', () => {
  const css = readFileSync(new URL('./dashboard.css', import.meta.url), 'utf8');
  const vars = Object.fromEntries([...css.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]));

  it('keeps every text colour at 4.5:1 or more on the backgrounds it is drawn on', () => {
    const texts = ['text', 'muted', 'accent', 'ok', 'bad', 'warn', ...['starting', 'ready', 'busy', 'restarting', 'failed', 'stopped'].map((s) => `state-${s}`)];
    const backgrounds = ['bg', 'panel', 'panel-2', 'bad-bg'];
    for (const t of texts) for (const b of backgrounds) expect(contrastRatio(vars[t], vars[b]), `--${t} on --${b}`).toBeGreaterThanOrEqual(4.5);
    // the state label is written in --on-state over the state's colour
    for (const s of ['starting', 'ready', 'busy', 'restarting', 'failed', 'stopped']) expect(contrastRatio(vars['on-state'], vars[`state-${s}`]), s).toBeGreaterThanOrEqual(4.5);
  });

  it('keeps chart series at 3:1 or more against the plot background (non-text contrast)', () => {
    for (const c of SERIES_COLOURS) expect(contrastRatio(c, vars['panel-2']), c).toBeGreaterThanOrEqual(3);
  });

  it('computes the WCAG ratio', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrastRatio('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });
});
