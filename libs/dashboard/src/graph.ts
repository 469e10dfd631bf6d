import { ownerOf, type Workflow } from '@reelmesh/workflow';
import type { GraphView } from './model';

/** The workflow file as the page draws it: actors as groups, agents as nodes, every edge as an arrow. */
export function graphOf(workflow: Workflow): GraphView {
  const agentOf = new Map(workflow.steps.map((s) => [s.name, s.agent]));
  return {
    id: workflow.metadata.id,
    title: workflow.metadata.title,
    owner: ownerOf(workflow).agent,
    actors: workflow.actors.map((a) => ({ name: a.name, description: a.description })),
    agents: workflow.agents.map((a) => ({ name: a.name, actor: a.actor, steps: workflow.steps.filter((s) => s.agent === a.name).map((s) => s.name) })),
    arrows: workflow.edges.map((e) => ({ from: agentOf.get(e.from) ?? e.from, to: agentOf.get(e.to) ?? e.to, fromStep: e.from, toStep: e.to, artifact: e.artifact })),
    steps: workflow.steps.map((s) => ({ name: s.name, agent: s.agent, source: Boolean(s.source), sink: Boolean(s.sink) })),
  };
}
