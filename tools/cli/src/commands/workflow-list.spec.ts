import { describe, expect, it } from 'vitest';
import { accessMatrix, buildGraph, isAllowed, loadWorkflow, ownerOf, parseWorkflow, type Workflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { forbiddenCalls, listWorkflow } from './workflow-list';

const wf = parseWorkflow(MINI);

describe('reelmesh gen --list', () => {
  it('lists each kind from the workflow, apps once each', () => {
    expect(listWorkflow(wf, 'agents')).toEqual(wf.agents.map((a) => a.name));
    expect(listWorkflow(wf, 'apps')).toEqual([...new Set(wf.agents.map((a) => a.app))]);
    expect(listWorkflow(wf, 'actors')).toEqual(wf.actors.map((a) => a.name));
    expect(listWorkflow(wf, 'steps')).toEqual(wf.steps.map((s) => s.name));
  });

  it('without a kind, a table with one row per agent naming its app, actor and steps', () => {
    const [header, ...rows] = listWorkflow(wf);
    expect(header).toMatch(/^agent\s+app\s+actor\s+steps/);
    expect(rows).toHaveLength(wf.agents.length);
    for (const [i, agent] of wf.agents.entries()) {
      expect(rows[i].split(/\s+/).slice(0, 3)).toEqual([agent.name, agent.app, agent.actor]);
      for (const step of wf.steps.filter((s) => s.agent === agent.name)) expect(rows[i]).toContain(`${step.name} (${step.job})`);
    }
  });

  it('refuses an unknown kind naming the ones it takes', () => {
    expect(() => listWorkflow(wf, 'edges')).toThrow(/--list takes agents, apps, actors, steps, denials/);
  });
});

// MINI grown to four contractor agents in a chain (fx-1 -> fx-2 -> gr-1 -> gr-2 -> owner) over two
// actors, so every kind of forbidden call exists; written out, so the expected calls below are an
// oracle independent of the code under test.
const CHAIN = MINI.replace('  - { name: fx, description: Effects }\n', '  - { name: fx, description: Effects }\n  - { name: gr, description: Grading }\n')
  .replace(
    '  - { name: fx-1, actor: fx, app: fx }\n',
    '  - { name: fx-1, actor: fx, app: fx }\n  - { name: fx-2, actor: fx, app: fx }\n  - { name: gr-1, actor: gr, app: gr }\n  - { name: gr-2, actor: gr, app: gr }\n',
  )
  .replace(
    '  - { name: assemble, agent: owner, job: assemble, sink: true }\n',
    '  - { name: fx2, agent: fx-2, job: picture-fx }\n  - { name: gr1, agent: gr-1, job: grade }\n  - { name: gr2, agent: gr-2, job: grade }\n  - { name: assemble, agent: owner, job: assemble, sink: true }\n',
  )
  .replace(
    '  - { from: demux, to: assemble, artifact: picture }\n',
    '  - { from: demux, to: fx2, artifact: picture }\n  - { from: fx2, to: gr1, artifact: picture }\n  - { from: gr1, to: gr2, artifact: picture }\n  - { from: gr2, to: assemble, artifact: picture }\n',
  );

/** Each call really is forbidden, for the reason its kind gives, and names the agents' own actors. */
function expectForbidden(workflow: Workflow): void {
  const matrix = accessMatrix(workflow);
  const graph = buildGraph(workflow);
  const actorOf = new Map(workflow.agents.map((a) => [a.name, a.actor]));
  const calls = forbiddenCalls(workflow);
  expect(calls.map((c) => c.kind)).toEqual(['no-route', 'wrong-artifact', 'wrong-step']);
  for (const c of calls) {
    expect(actorOf.get(c.caller), `${c.kind}: the caller is a contractor`).not.toBe(ownerOf(workflow).actor);
    expect([c.callerActor, c.targetActor]).toEqual([actorOf.get(c.caller), actorOf.get(c.target)]);
    expect(isAllowed(matrix, c.caller, c.target, 'POST', c.path), `${c.kind} ${c.caller} -> ${c.target} ${c.path}`).toBe(false);
    expect(graph.nextHops(c.caller).includes(c.target), `${c.kind}: ${c.target} a next hop of ${c.caller}`).toBe(c.kind !== 'no-route');
    // Only the route, or only the step/artifact, is wrong: the target receives this path from someone.
    const receivedFromSomeone = matrix.some((r) => r.destination === c.target && isAllowed(matrix, r.source, c.target, 'POST', c.path));
    if (c.kind === 'no-route') expect(receivedFromSomeone, `${c.kind}: ${c.target} receives ${c.path}`).toBe(true);
  }
}

describe('reelmesh gen --list denials (the calls tools/kind/check-denials.sh makes)', () => {
  it('picks one call of each kind, in workflow order, other actors first', () => {
    expect(listWorkflow(parseWorkflow(CHAIN), 'denials')).toEqual([
      'no-route fx-1 fx gr-1 gr /v1/handoffs/mini/gr1/picture/0',
      'wrong-artifact fx-2 fx gr-1 gr /v1/handoffs/mini/gr1/av/0',
      'wrong-step fx-2 fx gr-1 gr /v1/handoffs/mini/fx2/picture/0',
    ]);
    expectForbidden(parseWorkflow(CHAIN));
  });

  it('gives calls the repository workflow forbids, whatever its agents', () => {
    expectForbidden(loadWorkflow());
  });

  it('lists only the kinds a workflow has: MINI has no agent outside a next hop, and no contractor edge but to the owner', () => {
    // fx-1's only hop is the owner, so there is no no-route pair; along fx-1 -> owner, assemble
    // takes no av (wrong artifact) and split takes no picture (no step to get wrong).
    expect(forbiddenCalls(wf).map((c) => [c.kind, c.caller, c.target, c.path])).toEqual([['wrong-artifact', 'fx-1', 'owner', '/v1/handoffs/mini/assemble/av/0']]);
  });
});
