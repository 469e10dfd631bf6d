import { performance } from 'node:perf_hooks';
import { buildGraph, spiffeId, type Workflow } from '@reelmesh/workflow';
import { sha256Hex } from './canonical-json';
import { parseTrustBundle } from './certificates';
import { createDevCa } from './dev-ca';
import { recordDigest, signRecord, type ProvenanceRecord } from './record';
import { createSigner, type Signer } from './signer';
import { verifyChain } from './verify-chain';

export interface ProvenanceBenchOptions {
  workflow: Workflow;
  /** Chunks to sign and verify (default 20). */
  chunks?: number;
}

export interface ProvenanceBenchResult {
  chunks: number;
  recordsPerChunk: number;
  /** Mean ms to sign one record. */
  signMsPerRecord: number;
  /** Mean ms to verify one chunk's full chain at the owner. */
  verifyChainMsPerChunk: number;
  /** Sign every record of a chunk + verify its full chain, in ms: the provenance cost per chunk. */
  totalMsPerChunk: number;
  /** Bytes of the records of one chunk (what travels in manifests, at most). */
  chainBytesPerChunk: number;
}

/**
 * Benchmark hook: the CPU cost of provenance per chunk for `workflow` (every non-sink step
 * signs one record per output artifact; the owner verifies the full chain). Crypto only, no I/O,
 * so it can be set against a chunk's end-to-end time to get the overhead ratio.
 */
export async function benchProvenance(opts: ProvenanceBenchOptions): Promise<ProvenanceBenchResult> {
  const { workflow } = opts;
  const chunks = opts.chunks ?? 20;
  const ca = await createDevCa();
  const roots = parseTrustBundle(ca.bundlePem);
  const signers = new Map<string, Signer>();
  for (const agent of workflow.agents) signers.set(agent.name, createSigner(await ca.issue(spiffeId(workflow, agent.name)))());
  const graph = buildGraph(workflow);

  let signMs = 0;
  let verifyMs = 0;
  let records = 0;
  let bytes = 0;
  for (let chunk = 0; chunk < chunks; chunk++) {
    const out = new Map<string, ProvenanceRecord>();
    for (const stepName of graph.topoOrder) {
      const step = graph.step(stepName)!;
      if (step.sink) continue;
      for (const artifact of new Set(graph.outputsOf(stepName).map((e) => e.artifact))) {
        const inputs = graph.inputsOf(stepName).map((e) => ({
          step: e.from,
          artifact: e.artifact,
          digest: { sha256: sha256Hex(`${e.from}/${e.artifact}/${chunk}`) },
          record: { sha256: recordDigest(out.get(`${e.from}/${e.artifact}`)!) },
        }));
        const started = performance.now();
        const record = signRecord(signers.get(step.agent)!, {
          workflowId: workflow.metadata.id,
          step: stepName,
          artifact,
          chunkIndex: chunk,
          chunkCount: chunks,
          sha256: sha256Hex(`${stepName}/${artifact}/${chunk}`),
          inputs,
          parameters: { job: step.job },
        });
        signMs += performance.now() - started;
        out.set(`${stepName}/${artifact}`, record);
      }
    }
    records = out.size;
    bytes = JSON.stringify([...out.values()]).length;
    const started = performance.now();
    verifyChain([...out.values()], workflow, roots, { chunkIndex: chunk });
    verifyMs += performance.now() - started;
  }
  return {
    chunks,
    recordsPerChunk: records,
    signMsPerRecord: signMs / (chunks * records),
    verifyChainMsPerChunk: verifyMs / chunks,
    totalMsPerChunk: (signMs + verifyMs) / chunks,
    chainBytesPerChunk: bytes,
  };
}
