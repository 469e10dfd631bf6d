// Who owns the film: the one answer every part of ReelMesh uses (KMS key ownership, the audit
// ledger's signer, which agent gets the ingest and export folders).
import { buildGraph } from './graph';
import type { Workflow } from './types';

export interface Owner {
  /** The owner's actor: holds the workflow's KMS key, signs the policy and the audit ledger. */
  readonly actor: string;
  /** The owner's agent: splits the master (the source step) and assembles the deliverable. */
  readonly agent: string;
}

/** The owner is the actor of the agent that runs the workflow's source step. */
export function ownerOf(wf: Workflow): Owner {
  const graph = buildGraph(wf);
  const agentName = graph.agentOf(graph.sourceSteps[0]);
  const agent = wf.agents.find((a) => a.name === agentName);
  if (!agent) throw new Error(`workflow "${wf.metadata.id}" has no source step on a declared agent`);
  return { actor: agent.actor, agent: agent.name };
}
