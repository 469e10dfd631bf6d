// Builds honest provenance chains for the real workflow so specs can attack one link at a time.
import { fileURLToPath } from 'node:url';
import { buildGraph, loadWorkflow, spiffeId, type Workflow } from '@reelmesh/workflow';
import { sha256Hex } from './canonical-json';
import { createDevCa, type DevCa } from './dev-ca';
import { recordDigest, signRecord, type ProvenanceRecord } from './record';
import { createSigner, type Signer } from './signer';

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

export const fakeDigest = (step: string, artifact: string, chunk: number) => sha256Hex(`${step}/${artifact}/${chunk}`);

/** Every record of one chunk, keyed `${step}/${artifact}`, signed in topological order. */
export function honestChain(fx: Fixture, chunkIndex: number, producedAt?: Date): Map<string, ProvenanceRecord> {
  const chunkCount = 4;
  const graph = buildGraph(fx.workflow);
  const out = new Map<string, ProvenanceRecord>();
  for (const stepName of graph.topoOrder) {
    const step = graph.step(stepName)!;
    if (step.sink) continue;
    const artifacts = [...new Set(graph.outputsOf(stepName).map((e) => e.artifact))];
    for (const artifact of artifacts) {
      const inputs = graph.inputsOf(stepName).map((e) => {
        const upstream = out.get(`${e.from}/${e.artifact}`)!;
        return { step: e.from, artifact: e.artifact, digest: { sha256: fakeDigest(e.from, e.artifact, chunkIndex) }, record: { sha256: recordDigest(upstream) } };
      });
      out.set(
        `${stepName}/${artifact}`,
        signRecord(fx.signers.get(step.agent)!, {
          workflowId: fx.workflow.metadata.id,
          step: stepName,
          artifact,
          chunkIndex,
          chunkCount,
          sha256: fakeDigest(stepName, artifact, chunkIndex),
          inputs,
          parameters: { job: step.job },
          producedAt,
        }),
      );
    }
  }
  return out;
}
