// What the workflow file defines, listed for people and scripts (`reelmesh gen --list [kind]`): the
// one place lists of agents, apps, actors or steps come from outside the workflow file itself.
import type { Workflow } from '@reelmesh/workflow';

export const LIST_KINDS = ['agents', 'apps', 'actors', 'steps'] as const;
export type ListKind = (typeof LIST_KINDS)[number];

/** One name per line (apps once each, in workflow order), or with no kind a table of every agent. */
export function listWorkflow(workflow: Workflow, kind?: string): string[] {
  if (kind === undefined) {
    const rows = workflow.agents.map((agent) => [
      agent.name,
      agent.app,
      agent.actor,
      workflow.steps.filter((step) => step.agent === agent.name).map((step) => `${step.name} (${step.job})`).join(', '),
    ]);
    const header = ['agent', 'app', 'actor', 'steps (job)'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    return [header, ...rows].map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
  }
  switch (kind as ListKind) {
    case 'agents':
      return workflow.agents.map((a) => a.name);
    case 'apps':
      return [...new Set(workflow.agents.map((a) => a.app))];
    case 'actors':
      return workflow.actors.map((a) => a.name);
    case 'steps':
      return workflow.steps.map((s) => s.name);
    default:
      throw new Error(`--list takes ${LIST_KINDS.join(', ')} (or nothing, for a table), not "${kind}"`);
  }
}
