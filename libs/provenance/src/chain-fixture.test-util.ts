// Builds honest provenance chains for the real workflow so specs can attack one link at a time.
import { fileURLToPath } from 'node:url';
import { loadWorkflow, spiffeId, type Workflow } from '@reelmesh/workflow';
import { createDevCa, type DevCa } from './dev-ca';
import type { ProvenanceRecord } from './record';
import { createSigner, type Signer } from './signer';
import { signChunkChain, syntheticDigest } from './synthetic-chain';

export const WORKFLOW_PATH = fileURLToPath(new URL('../../../policies/workflow.yaml', import.meta.url));

export interface Fixture {
  workflow: Workflow;
  ca: DevCa;
  signers: Map<string, Signer>;
}

export async function createFixture(): Promise<Fixture> {
  const workflow = loadWorkflow(WORKFLOW_PATH);
  const ca = await createDevCa();
  const signers = new Map<string, Signer>();
  for (const agent of workflow.agents) signers.set(agent.name, createSigner(await ca.issue(spiffeId(workflow, agent.name)))());
  return { workflow, ca, signers };
}

export const fakeDigest = syntheticDigest;

/** Every record of one chunk, keyed `${step}/${artifact}`, signed in topological order. */
export function honestChain(fx: Fixture, chunkIndex: number, producedAt?: Date): Map<string, ProvenanceRecord> {
  return signChunkChain(fx.workflow, fx.signers, chunkIndex, 4, { producedAt });
}
