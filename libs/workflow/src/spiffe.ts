// Workload identities of a workflow's agents: one SPIFFE id per agent, namespaced by its actor.
import { formatSpiffeId } from '@reelmesh/addressing';
import type { Agent, Workflow } from './types';

/** spiffe://<trustDomain>/ns/<actor>/sa/<agent>; throws for an agent the workflow does not declare. */
export function spiffeId(wf: Workflow, agentName: string): string {
  const agent = wf.agents.find((candidate) => candidate.name === agentName);
  if (!agent) throw new Error(`unknown agent "${agentName}" in workflow "${wf.metadata.id}"`);
  return formatSpiffeId({ trustDomain: wf.metadata.trustDomain, actor: agent.actor, agent: agent.name });
}

/** The agent whose exact SPIFFE id this is, or undefined (wrong trust domain, actor or agent). */
export function agentBySpiffeId(wf: Workflow, id: string): Agent | undefined {
  return wf.agents.find((agent) => spiffeId(wf, agent.name) === id);
}
