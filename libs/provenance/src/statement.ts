import { handoffSubject } from '@reelmesh/addressing';

// The in-toto Statement v1 every ReelMesh output carries: subject = the output's digest,
// predicate = how it was made (workflow, step, chunk, inputs with their records, signer, parameters).

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const CHUNK_PREDICATE_TYPE = 'https://reelmesh.io/provenance/chunk/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DigestSet {
  sha256: string;
}

/** One input of a step: which upstream output it was, and the record that vouches for it. */
export interface ChunkInput {
  /** The step that produced the input. */
  step: string;
  artifact: string;
  digest: DigestSet;
  /** Digest of the upstream record's signed payload: this is what chains records together. */
  record: DigestSet;
}

export interface ChunkPredicate {
  workflow: { id: string };
  step: string;
  artifact: string;
  chunkIndex: number;
  chunkCount: number;
  /** SPIFFE id of the agent that ran the step (must equal the signing certificate's). */
  agent: string;
  inputs: ChunkInput[];
  /** Digest of the job's parameters (filter graph, LUT digest, tool version...), never the secrets themselves. */
  parameters: { digest: DigestSet };
  producedAt: string;
}

export interface ChunkStatement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: DigestSet }>;
  predicateType: typeof CHUNK_PREDICATE_TYPE;
  predicate: ChunkPredicate;
}

/**
 * The subject name of an output: 'feature-film/demux/av/3'. It is the handoff address's subject
 * (one shape, one validation: names follow the name rule, the chunk index is a non-negative safe
 * integer, else it throws), here with the PRODUCING step.
 */
export function subjectName(workflowId: string, step: string, artifact: string, chunkIndex: number): string {
  return handoffSubject({ workflowId, step, artifact, chunkIndex });
}
