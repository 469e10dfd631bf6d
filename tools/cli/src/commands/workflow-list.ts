// What the workflow file defines, listed for people and scripts (`reelmesh gen --list [kind]`): the
// one place lists of agents, apps, actors or steps come from outside the workflow file itself.
import { handoffPath } from '@reelmesh/addressing';
import { buildGraph, ownerOf, type Workflow } from '@reelmesh/workflow';

export const LIST_KINDS = ['agents', 'apps', 'actors', 'steps', 'denials'] as const;
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
    case 'denials':
      return forbiddenCalls(workflow).map((c) => [c.kind, c.caller, c.callerActor, c.target, c.targetActor, c.path].join(' '));
    default:
      throw new Error(`--list takes ${LIST_KINDS.join(', ')} (or nothing, for a table), not "${kind}"`);
  }
}

/** Why the mesh must refuse a call: the caller has no route to the target, or it has one but not for this artifact or step. */
export type DenialKind = 'no-route' | 'wrong-artifact' | 'wrong-step';

export interface ForbiddenCall {
  kind: DenialKind;
  caller: string;
  callerActor: string;
  target: string;
  targetActor: string;
  /** The handoff path (chunk 0) the caller posts to on the target. */
  path: string;
}

/**
 * Calls the workflow forbids, one of each kind it has, each made by a contractor's agent (never the
 * owner's), for the mesh checks (tools/kind/check-denials.sh):
 * - no-route: to an agent that is not one of the caller's next hops, on a handoff the target does
 *   receive (from someone else) — so the missing route is the only reason to refuse it;
 * - wrong-artifact / wrong-step: along a real edge to another actor's agent, with an artifact, or a
 *   step, that the caller never hands that agent (the artifact is one the workflow hands on
 *   somewhere, the step one that receives the edge's artifact from someone).
 * Picks are the first in workflow order (targets of other actors first), so the list is stable.
 */
export function forbiddenCalls(workflow: Workflow): ForbiddenCall[] {
  const graph = buildGraph(workflow);
  const owner = ownerOf(workflow).actor;
  const actorOf = new Map(workflow.agents.map((a) => [a.name, a.actor]));
  const agentOf = (step: string) => graph.agentOf(step)!;
  const path = (step: string, artifact: string) => handoffPath({ workflowId: workflow.metadata.id, step, artifact, chunkIndex: 0 });
  const call = (kind: DenialKind, caller: string, target: string, step: string, artifact: string): ForbiddenCall => ({
    kind,
    caller,
    callerActor: actorOf.get(caller)!,
    target,
    targetActor: actorOf.get(target)!,
    path: path(step, artifact),
  });
  const contractors = workflow.agents.filter((a) => a.actor !== owner).map((a) => a.name);
  // Other actors' agents first, then the caller's own actor's, then the owner's.
  const rank = (caller: string, target: string) => (actorOf.get(target) === owner ? 2 : actorOf.get(target) === actorOf.get(caller) ? 1 : 0);
  const targetsFor = (caller: string) => workflow.agents.map((a) => a.name).filter((t) => t !== caller).sort((a, b) => rank(caller, a) - rank(caller, b));
  // What crosses from one agent to another: [caller, target, step, artifact].
  const crossing = workflow.edges.filter((e) => agentOf(e.from) !== agentOf(e.to)).map((e) => ({ caller: agentOf(e.from), target: agentOf(e.to), step: e.to, artifact: e.artifact }));
  const sends = (caller: string, target: string, step: string, artifact: string) =>
    crossing.some((c) => c.caller === caller && c.target === target && c.step === step && c.artifact === artifact);

  const calls: ForbiddenCall[] = [];
  noRoute: for (const caller of contractors) {
    for (const target of targetsFor(caller)) {
      if (graph.nextHops(caller).includes(target)) continue;
      const inbound = crossing.find((c) => c.target === target);
      if (inbound) {
        calls.push(call('no-route', caller, target, inbound.step, inbound.artifact));
        break noRoute;
      }
    }
  }
  const artifacts = [...new Set(workflow.edges.map((e) => e.artifact))];
  const edge =
    crossing.find((c) => contractors.includes(c.caller) && actorOf.get(c.caller) !== actorOf.get(c.target) && actorOf.get(c.target) !== owner) ??
    crossing.find((c) => contractors.includes(c.caller));
  if (edge) {
    const artifact = artifacts.find((a) => !sends(edge.caller, edge.target, edge.step, a));
    if (artifact) calls.push(call('wrong-artifact', edge.caller, edge.target, edge.step, artifact));
    const step = graph.topoOrder.find((s) => graph.inputsOf(s).some((e) => e.artifact === edge.artifact) && !sends(edge.caller, edge.target, s, edge.artifact));
    if (step) calls.push(call('wrong-step', edge.caller, edge.target, step, edge.artifact));
  }
  return calls;
}
