import type { X509Certificate } from 'node:crypto';
import { buildGraph, type Workflow } from '@reelmesh/workflow';
import { ProvenanceError } from './provenance-error';
import { recordDigest, peekStatement, type ProvenanceRecord, type VerifiedRecord } from './record';
import { verifyChain, type VerifiedChain } from './verify-chain';

/** What travels in a handoff manifest's `provenance`: the new record and the chain it extends. */
export interface HandoffProvenance {
  records: ProvenanceRecord[];
}

/** The chunk as the receiver saw it (digest computed by the receiver itself). */
export interface ReceivedSlot {
  /** The RECEIVING step. */
  step: string;
  artifact: string;
  chunkIndex: number;
  sha256: string;
}

/**
 * A receiver's check before accepting a chunk: the record for the edge that feeds (step,
 * artifact) must vouch for exactly the bytes received, and its chain must verify back to the
 * owner's original along the workflow's steps.
 */
export function verifyHandoffProvenance(
  provenance: unknown,
  slot: ReceivedSlot,
  workflow: Workflow,
  roots: string | X509Certificate[],
  now?: Date,
): VerifiedChain {
  const records = (provenance as HandoffProvenance | undefined)?.records;
  if (!Array.isArray(records) || records.length === 0) {
    throw new ProvenanceError(`chunk ${slot.chunkIndex} for ${slot.step}/${slot.artifact} carries no provenance records`, {
      kind: 'missing-record',
      step: slot.step,
      artifact: slot.artifact,
      chunkIndex: slot.chunkIndex,
    });
  }
  const edge = buildGraph(workflow)
    .inputsOf(slot.step)
    .find((e) => e.artifact === slot.artifact);
  if (!edge) {
    throw new ProvenanceError(`step ${slot.step} takes no artifact ${slot.artifact}`, { kind: 'malformed', step: slot.step, artifact: slot.artifact });
  }
  return verifyChain(records, workflow, roots, {
    chunkIndex: slot.chunkIndex,
    targets: [{ step: edge.from, artifact: slot.artifact, sha256: slot.sha256 }],
    now,
  });
}

/** Union of several chains (same record once), e.g. the inputs of a step with two inputs. */
export function mergeRecords(...chains: ReadonlyArray<readonly ProvenanceRecord[]>): ProvenanceRecord[] {
  const seen = new Map<string, ProvenanceRecord>();
  for (const chain of chains) for (const record of chain) seen.set(recordDigest(record), record);
  return [...seen.values()];
}

/** The record of (step, artifact) in a verified chain. */
export function headOf(chain: VerifiedChain, step: string, artifact: string): VerifiedRecord | undefined {
  return chain.records.find((r) => r.statement.predicate.step === step && r.statement.predicate.artifact === artifact);
}

/** Short label of a record for logs and errors, without verifying it. */
export function labelOf(record: ProvenanceRecord): string {
  const s = peekStatement(record);
  return s ? `${s.predicate.step}/${s.predicate.artifact}#${s.predicate.chunkIndex}` : 'unreadable record';
}
