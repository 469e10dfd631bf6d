// What key provisioning needs from the workflow. It is read with the one workflow loader (schema
// and semantic checks included), so the KMS never provisions keys from a file the rest of
// ReelMesh would refuse, and the owner is the one `ownerOf` answer, not a name guessed here.
import { loadWorkflow, ownerOf, type Workflow } from '@reelmesh/workflow';
import type { ProvisionOptions, WorkflowAgentRef } from './provision';

export interface ProvisionOverrides {
  /** The actor owning the workflow key; default `ownerOf(workflow).actor`. */
  ownerActor?: string;
  /** Workloads outside the workflow's agents (e.g. the owner's audit ledger), provisioned like agents. */
  platformAgents?: WorkflowAgentRef[];
}

/** The workflow's agents (name, actor) plus platform workloads, and the owner actor. */
export function provisionOptionsFor(workflow: Workflow, overrides: ProvisionOverrides = {}): ProvisionOptions {
  return {
    agents: [...workflow.agents.map(({ name, actor }) => ({ name, actor })), ...(overrides.platformAgents ?? [])],
    ownerActor: overrides.ownerActor ?? ownerOf(workflow).actor,
  };
}

/** provisionOptionsFor the workflow file at `file`; throws WorkflowError naming every issue. */
export function readProvisionOptions(file: string, overrides: ProvisionOverrides = {}): ProvisionOptions {
  return provisionOptionsFor(loadWorkflow(file), overrides);
}
