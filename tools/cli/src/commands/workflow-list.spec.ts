import { describe, expect, it } from 'vitest';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { listWorkflow } from './workflow-list';

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
    expect(() => listWorkflow(wf, 'edges')).toThrow(/--list takes agents, apps, actors, steps/);
  });
});
