import { performance } from 'node:perf_hooks';
import { buildGraph, type Workflow } from '@reelmesh/workflow';
import { sha256Hex } from './canonical-json';
import { recordDigest, signRecord, type ProvenanceRecord } from './record';
import type { Signer } from './signer';

// Honest provenance chains over synthetic digests, for the benchmarks and the specs.

/** The stand-in sha256 of `step`'s `artifact` output for `chunk`. */
export const syntheticDigest = (step: string, artifact: string, chunk: number) => sha256Hex(`${step}/${artifact}/${chunk}`);

/** Every record of one chunk, signed in topological order over synthetic digests; `onSign` gets each signature's ms. */
export function signChunkChain(
  workflow: Workflow,
  signers: Map<string, Signer>,
  chunk: number,
  chunkCount: number,
  opts: { onSign?: (ms: number) => void; producedAt?: Date } = {},
): Map<string, ProvenanceRecord> {
  const graph = buildGraph(workflow);
  const out = new Map<string, ProvenanceRecord>();
  for (const stepName of graph.topoOrder) {
    const step = graph.step(stepName)!;
    if (step.sink) continue;
    for (const artifact of new Set(graph.outputsOf(stepName).map((e) => e.artifact))) {
      const inputs = graph.inputsOf(stepName).map((e) => ({
        step: e.from,
        artifact: e.artifact,
        digest: { sha256: syntheticDigest(e.from, e.artifact, chunk) },
        record: { sha256: recordDigest(out.get(`${e.from}/${e.artifact}`)!) },
      }));
      const started = performance.now();
      const record = signRecord(signers.get(step.agent)!, {
        workflowId: workflow.metadata.id,
        step: stepName,
        artifact,
        chunkIndex: chunk,
        chunkCount,
        sha256: syntheticDigest(stepName, artifact, chunk),
        inputs,
        parameters: { job: step.job },
        producedAt: opts.producedAt,
      });
      opts.onSign?.(performance.now() - started);
      out.set(`${stepName}/${artifact}`, record);
    }
  }
  return out;
}

