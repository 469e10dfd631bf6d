import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DashboardStore, graphOf } from '@reelmesh/dashboard';
import { ProcessGroup } from '@reelmesh/runtime';
import { parseWorkflow, spiffeId } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { decisionView, eventsOfEntry, explainingLine, LiveCollector } from './collector';

const workflow = parseWorkflow(MINI);
const [first, second] = workflow.agents.map((a) => a.name);
const dir = mkdtempSync(join(tmpdir(), 'reelmesh-collector-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the live collector', () => {
  it("derives each agent's state from its pod's processes, and reports a crash with the log line that explains it", () => {
    const store = new DashboardStore(graphOf(workflow));
    const group = new ProcessGroup();
    const collector = new LiveCollector(store, workflow, group);
    const log = join(dir, `${second}.log`);
    writeFileSync(log, ['{"level":30,"msg":"listening"}', '{"level":50,"msg":"cannot open the volume: EACCES"}', '{"level":30,"msg":"bye"}'].join('\n'));
    for (const name of [first, `${first}/proxy`, `${first}/policy`, second]) group.emit('spawning', { name });
    expect(store.state().agents[first].state).toBe('starting');
    for (const name of [first, `${first}/proxy`, `${first}/policy`]) group.emit('started', { name, pid: 4242, startupMs: 120 });
    expect(store.state().agents[first].state).toBe('ready');
    expect(store.state().processes[`${first}/policy`]).toMatchObject({ agent: first, role: 'policy', state: 'running', startupMs: 120 });
    group.emit('spawning', { name: 'control-plane' });
    expect(store.state().processes['control-plane']).toMatchObject({ role: 'control-plane', state: 'starting' });
    expect(store.state().processes['control-plane'].agent).toBeUndefined();

    group.emit('restarting', { name: `${first}/proxy`, restarts: 1, exit: 'SIGKILL', delayMs: 250 });
    expect(store.state().agents[first].state).toBe('restarting');
    group.emit('restarted', { name: `${first}/proxy`, pid: 4343, restarts: 1, ready: { event: 'ready', endpoints: {} } as never });
    expect(store.state().agents[first].state).toBe('ready');
    expect(store.state().processes[`${first}/proxy`]).toMatchObject({ pid: 4343, restarts: 1 });

    group.emit('crashloop', { name: second, restarts: 8, exit: 1, message: `${second} keeps crashing\nmore`, logFile: log });
    expect(store.state().agents[second].state).toBe('failed');
    const errors = store.state().errors.recent;
    expect(errors.map((e) => e.source)).toEqual([`${first}/proxy`, second]);
    expect(errors[1]).toMatchObject({ message: `${second} keeps crashing`, logLine: '{"level":50,"msg":"cannot open the volume: EACCES"}' });

    collector.close({ state: 'failed', error: 'x' });
    expect(store.state().agents[first].state).toBe('stopped');
    // A process the group gave up on stays shown as such.
    expect(store.state().processes[second].state).toBe('crashloop');
    expect(store.state().run).toMatchObject({ state: 'failed', error: 'x', finishedAt: expect.any(String) });
  });

  it("names principals by the workflow's agents and reads the decision whatever document was asked", () => {
    const base = { decision_id: 'd', timestamp: 't', input: { source: spiffeId(workflow, first), destination: spiffeId(workflow, second), method: 'POST', path: '/p' } };
    expect(decisionView(workflow, second, { ...base, result: { allowed: false, reason: 'handoff_not_allowed' }, reason: 'handoff_not_allowed' })).toEqual({
      id: 'd', time: 't', agent: second, source: first, destination: second, method: 'POST', path: '/p', allowed: false, reason: 'handoff_not_allowed',
    });
    expect(decisionView(workflow, second, { ...base, result: true, reason: 'allowed' }).allowed).toBe(true);
    expect(decisionView(workflow, second, { ...base, result: { allow: true } }).allowed).toBe(true);
    expect(decisionView(workflow, second, { ...base, input: { ...base.input, source: 'spiffe://elsewhere/ns/x/sa/y' }, result: false }).source).toBe('spiffe://elsewhere/ns/x/sa/y');
    expect(decisionView(workflow, second, { ...base, error: { code: 'x' } })).toMatchObject({ allowed: false, reason: 'evaluation error' });
  });

  it('shows ledger entries as the page needs them: decisions, chunk positions, refusals with the broken link', () => {
    const by = { agent: second, component: 'app', spiffeId: spiffeId(workflow, second) };
    const step = workflow.steps.find((s) => s.agent === second)!.name;
    expect(eventsOfEntry(workflow, 'T', { type: 'handoff-received', by, step, artifact: 'av', chunk: 7, from: first })).toEqual([{ type: 'chunk', position: { chunk: 7, agent: second, step, time: 'T' } }]);
    expect(eventsOfEntry(workflow, 'T', { type: 'handoff-refused', by, step, artifact: 'av', chunk: 3, from: first, reason: 'record 2 signed by x, expected y' })).toEqual([
      { type: 'refusal', refusal: { time: 'T', agent: second, from: first, step, artifact: 'av', chunk: 3, reason: 'record 2 signed by x, expected y' } },
    ]);
    const decision = { decision_id: 'd9', timestamp: 'T', path: 'reelmesh/authz', input: { source: spiffeId(workflow, first), destination: spiffeId(workflow, second), method: 'GET', path: '/v1/status' }, result: { allow: false }, reason: 'no_route' };
    expect(eventsOfEntry(workflow, 'T', { type: 'decision', by: { ...by, component: 'policy' }, decision })).toEqual([
      { type: 'decision', decision: { id: 'd9', time: 'T', agent: second, source: first, destination: second, method: 'GET', path: '/v1/status', allowed: false, reason: 'no_route' } },
    ]);
    expect(eventsOfEntry(workflow, 'T', { type: 'handoff-sent', by, step, artifact: 'av', chunk: 1 })).toEqual([]);
  });

  it('finds no explaining line in a missing log, and the last line when none says error', () => {
    expect(explainingLine(join(dir, 'none.log'))).toBeUndefined();
    const log = join(dir, 'quiet.log');
    writeFileSync(log, 'one\ntwo\n');
    expect(explainingLine(log)).toBe('two');
  });
});
