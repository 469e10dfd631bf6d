// Builds honest provenance chains so specs can attack one link at a time. The chains follow this
// film-shaped fixture workflow (FILM_SHAPED of @reelmesh/workflow/testing), not policies/workflow.yaml: these specs are about
// how chains are verified, so a contractor added to the shipped workflow must not change them.
import { parseWorkflow, spiffeId, type Workflow } from '@reelmesh/workflow';
import { FILM_SHAPED } from '@reelmesh/workflow/testing';
import { createDevCa, type DevCa } from './dev-ca';
import type { ProvenanceRecord } from './record';
import { createSigner, type Signer } from './signer';
import { signChunkChain, syntheticDigest } from './synthetic-chain';

/** The fixture's workflow (a fresh parse each call). */
export const filmShapedWorkflow = (): Workflow => parseWorkflow(FILM_SHAPED, 'film-shaped fixture');

export interface Fixture {
  workflow: Workflow;
  ca: DevCa;
  signers: Map<string, Signer>;
}

export async function createFixture(): Promise<Fixture> {
  const workflow = filmShapedWorkflow();
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
