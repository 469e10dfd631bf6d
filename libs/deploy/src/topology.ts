// What the deployment generators need to know about the workflow, derived once: each agent with
// its namespace (= actor), the agents it calls and the exact handoffs it accepts.
import { accessMatrix, buildGraph, type AccessRule, type Workflow } from '@reelmesh/workflow';

export interface AgentPlacement {
  readonly name: string;
  readonly app: string;
  /** Kubernetes namespace = actor = SPIFFE `ns`. */
  readonly namespace: string;
  /** Agents this one POSTs handoffs to, sorted. */
  readonly nextHops: readonly string[];
  /** Access-matrix rules whose destination is this agent (who may call it, on which path). */
  readonly inbound: readonly AccessRule[];
}

export interface Topology {
  readonly workflow: Workflow;
  readonly agents: readonly AgentPlacement[];
  /** Actors in workflow order, each with its agents. */
  readonly namespaces: readonly { readonly name: string; readonly agents: readonly AgentPlacement[] }[];
  /** Distinct apps (images) in workflow order. */
  readonly apps: readonly string[];
  agent(name: string): AgentPlacement;
}

export function topologyOf(wf: Workflow): Topology {
  const graph = buildGraph(wf);
  const matrix = accessMatrix(wf);
  const agents = wf.agents.map(
    (agent): AgentPlacement => ({
      name: agent.name,
      app: agent.app,
      namespace: agent.actor,
      nextHops: graph.nextHops(agent.name),
      inbound: matrix.filter((rule) => rule.destination === agent.name),
    }),
  );
  const byName = new Map(agents.map((agent) => [agent.name, agent]));
  return {
    workflow: wf,
    agents,
    namespaces: wf.actors.map((actor) => ({ name: actor.name, agents: agents.filter((agent) => agent.namespace === actor.name) })),
    apps: [...new Set(wf.agents.map((agent) => agent.app))],
    agent(name) {
      const found = byName.get(name);
      if (!found) throw new Error(`unknown agent "${name}" in workflow "${wf.metadata.id}"`);
      return found;
    },
  };
}

/** Istio's form of a principal: the SPIFFE id without `spiffe://` (trust domain = workflow's). */
export function istioPrincipal(spiffe: string): string {
  return spiffe.replace(/^spiffe:\/\//, '');
}
