import type { X509Certificate } from 'node:crypto';
import type { HandoffAddress } from '@reelmesh/addressing';
import { spiffeId as spiffeIdOfAgent, type Workflow } from '@reelmesh/workflow';
import { canonicalJson, sha256Hex, SHA256_HEX } from './canonical-json';
import { splitPem, verifyCertificateChain } from './certificates';
import { isDsseEnvelope, signEnvelope, verifyEnvelope, type DsseEnvelope } from './dsse';
import { ProvenanceError, type BrokenLink } from './provenance-error';
import type { Signer } from './signer';
import {
  CHUNK_PREDICATE_TYPE,
  IN_TOTO_PAYLOAD_TYPE,
  STATEMENT_TYPE,
  subjectName,
  type ChunkInput,
  type ChunkStatement,
} from './statement';

export const RECORD_MEDIA_TYPE = 'application/vnd.reelmesh.provenance.v1+json';
/** Clock skew tolerated between a signer's producedAt and the verifier's clock. */
const FUTURE_SKEW_MS = 5 * 60_000;

/** A signed provenance record: the DSSE envelope plus the certificate chain that signed it. */
export interface ProvenanceRecord {
  mediaType: typeof RECORD_MEDIA_TYPE;
  dsseEnvelope: DsseEnvelope;
  verificationMaterial: { certificateChain: string[] };
}

/** A record is about one handoff slot (its address) of a run of `chunkCount` chunks. */
export interface RecordInput extends HandoffAddress {
  chunkCount: number;
  /** sha256 of the output bytes. */
  sha256: string;
  inputs: ChunkInput[];
  /** Job parameters, plain JSON (a Date as its toISOString(), bytes as a digest); only their digest goes into the record. */
  parameters: Record<string, unknown>;
  producedAt?: Date;
}

/** A record whose signature, certificate and signer were checked. */
export interface VerifiedRecord {
  record: ProvenanceRecord;
  statement: ChunkStatement;
  /** sha256 of the signed payload: what downstream records name in `inputs[].record`. */
  digest: string;
  sha256: string;
  signer: string;
}

/** sha256 of the parameters' RFC 8785 form; throws a TypeError naming any value that is not plain JSON. */
export function parametersDigest(parameters: Record<string, unknown>): string {
  return sha256Hex(canonicalJson(parameters));
}

export function signRecord(signer: Signer, input: RecordInput): ProvenanceRecord {
  const statement: ChunkStatement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: subjectName(input.workflowId, input.step, input.artifact, input.chunkIndex), digest: { sha256: input.sha256 } }],
    predicateType: CHUNK_PREDICATE_TYPE,
    predicate: {
      workflow: { id: input.workflowId },
      step: input.step,
      artifact: input.artifact,
      chunkIndex: input.chunkIndex,
      chunkCount: input.chunkCount,
      agent: signer.spiffeId,
      inputs: input.inputs,
      parameters: { digest: { sha256: parametersDigest(input.parameters) } },
      producedAt: (input.producedAt ?? new Date()).toISOString(),
    },
  };
  const payload = Buffer.from(canonicalJson(statement), 'utf8');
  return {
    mediaType: RECORD_MEDIA_TYPE,
    dsseEnvelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, signer.key, signer.spiffeId),
    verificationMaterial: { certificateChain: splitPem(signer.chainPem) },
  };
}

/** sha256 of the record's signed payload (independent of signature encoding). */
export function recordDigest(record: ProvenanceRecord): string {
  return sha256Hex(Buffer.from(record.dsseEnvelope.payload, 'base64'));
}

/** Decode a record's statement WITHOUT checking anything (for messages and indexing only). */
export function peekStatement(record: ProvenanceRecord): ChunkStatement | undefined {
  try {
    return JSON.parse(Buffer.from(record.dsseEnvelope.payload, 'base64').toString('utf8')) as ChunkStatement;
  } catch {
    return undefined;
  }
}

/**
 * Verify one record: well-formed statement for this workflow, signature by the certificate's key,
 * certificate chained to the mesh CA and valid when signed, and the signer is the very agent the
 * workflow assigns to the record's step.
 */
export function verifyRecord(value: unknown, workflow: Workflow, roots: X509Certificate[], now = new Date()): VerifiedRecord {
  const record = value as ProvenanceRecord;
  if (
    typeof record !== 'object' ||
    record === null ||
    record.mediaType !== RECORD_MEDIA_TYPE ||
    !isDsseEnvelope(record.dsseEnvelope) ||
    !Array.isArray(record.verificationMaterial?.certificateChain)
  ) {
    throw new ProvenanceError('provenance record is malformed (want a DSSE envelope with its certificate chain)', { kind: 'malformed' });
  }
  const statement = peekStatement(record);
  const where = statement ? describeStatement(statement) : 'provenance record';
  const link = (kind: BrokenLink['kind']): BrokenLink => ({
    kind,
    step: statement?.predicate?.step,
    artifact: statement?.predicate?.artifact,
    chunkIndex: statement?.predicate?.chunkIndex,
  });
  if (record.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE || !statement || !isChunkStatement(statement)) {
    throw new ProvenanceError(`${where}: payload is not a ReelMesh in-toto chunk statement`, link('malformed'));
  }
  const p = statement.predicate;
  if (p.workflow.id !== workflow.metadata.id) {
    throw new ProvenanceError(`${where}: belongs to workflow "${p.workflow.id}", not "${workflow.metadata.id}"`, link('wrong-workflow'));
  }
  const step = workflow.steps.find((s) => s.name === p.step);
  if (!step) throw new ProvenanceError(`${where}: the workflow has no step "${p.step}"`, link('malformed'));

  const producedAt = new Date(p.producedAt);
  if (Number.isNaN(producedAt.getTime()) || producedAt.getTime() > now.getTime() + FUTURE_SKEW_MS) {
    throw new ProvenanceError(`${where}: producedAt ${p.producedAt} is not a plausible signing time`, link('malformed'));
  }
  let signer;
  try {
    signer = verifyCertificateChain(record.verificationMaterial.certificateChain, roots, producedAt, { trustDomain: workflow.metadata.trustDomain });
  } catch (error) {
    throw new ProvenanceError(`${where}: signing certificate rejected: ${(error as Error).message}`, link('certificate'));
  }
  if (!verifyEnvelope(record.dsseEnvelope, signer.publicKey)) {
    throw new ProvenanceError(`${where}: signature does not verify (record altered after signing)`, link('signature'));
  }
  const expected = spiffeIdOfAgent(workflow, step.agent);
  if (signer.spiffeId !== expected) {
    throw new ProvenanceError(
      `${where}: signed by ${signer.spiffeId}, but the workflow assigns step ${step.name} to ${step.agent} (${expected})`,
      link('wrong-signer'),
    );
  }
  if (p.agent !== signer.spiffeId) {
    throw new ProvenanceError(`${where}: claims agent ${p.agent} but is signed by ${signer.spiffeId}`, link('wrong-signer'));
  }
  return { record, statement, digest: recordDigest(record), sha256: statement.subject[0].digest.sha256, signer: signer.spiffeId };
}

export function describeStatement(s: ChunkStatement): string {
  const p = s.predicate ?? ({} as ChunkStatement['predicate']);
  return `record ${p.step}/${p.artifact} of chunk ${p.chunkIndex}`;
}

function isChunkStatement(s: ChunkStatement): boolean {
  const p = s.predicate;
  const digestOk = (d: unknown) => typeof (d as { sha256?: unknown })?.sha256 === 'string' && SHA256_HEX.test((d as { sha256: string }).sha256);
  return (
    s._type === STATEMENT_TYPE &&
    s.predicateType === CHUNK_PREDICATE_TYPE &&
    Array.isArray(s.subject) &&
    s.subject.length === 1 &&
    digestOk(s.subject[0]?.digest) &&
    typeof p === 'object' &&
    p !== null &&
    typeof p.workflow?.id === 'string' &&
    typeof p.step === 'string' &&
    typeof p.artifact === 'string' &&
    Number.isSafeInteger(p.chunkIndex) &&
    p.chunkIndex >= 0 &&
    Number.isSafeInteger(p.chunkCount) &&
    typeof p.agent === 'string' &&
    typeof p.producedAt === 'string' &&
    digestOk(p.parameters?.digest) &&
    Array.isArray(p.inputs) &&
    p.inputs.every((i) => typeof i?.step === 'string' && typeof i.artifact === 'string' && digestOk(i.digest) && digestOk(i.record))
  );
}
