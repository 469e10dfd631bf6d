import { createHash, type X509Certificate } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '@reelmesh/storage';
import { buildGraph, spiffeId as spiffeIdOfAgent, type Workflow } from '@reelmesh/workflow';
import { canonicalJson, sha256Hex, SHA256_HEX } from './canonical-json';
import { parseTrustBundle, splitPem, verifyCertificateChain } from './certificates';
import { isDsseEnvelope, signEnvelope, verifyEnvelope } from './dsse';
import { headOf } from './handoff-provenance';
import { isProvenanceError, type BrokenLink } from './provenance-error';
import { parametersDigest, RECORD_MEDIA_TYPE, type ProvenanceRecord } from './record';
import type { Signer } from './signer';
import { IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, type DigestSet } from './statement';
import { verifyChain } from './verify-chain';

// What the owner ships, bound to how it was made. Beside the deliverable:
//   <deliverable>.intoto.jsonl       one line: the owner's signed in-toto Statement about the file
//   provenance/chunk-NNNNN.json      every chunk's verified records (the chains the Statement names)
// Anyone holding the mesh CA bundle re-checks the whole run offline: the file's own digest, the
// owner's signature and certificate, then the chain of every chunk the Statement lists.

export const PROVENANCE_DIR = 'provenance';
/** The attestation file is the deliverable's name plus this suffix (the usual in-toto form). */
export const ATTESTATION_SUFFIX = '.intoto.jsonl';
export const DELIVERABLE_PREDICATE_TYPE = 'https://reelmesh.io/provenance/deliverable/v1';
const CHUNK_FILE = /^chunk-(\d{5})\.json$/;
/** Clock skew tolerated between the owner's producedAt and the verifier's clock. */
const FUTURE_SKEW_MS = 5 * 60_000;

export interface ChunkProvenanceFile {
  workflowId: string;
  chunkIndex: number;
  chunkCount: number;
  records: ProvenanceRecord[];
}

export const chunkProvenanceFile = (chunkIndex: number) => `chunk-${String(chunkIndex).padStart(5, '0')}.json`;
export const attestationPathOf = (deliverable: string) => `${deliverable}${ATTESTATION_SUFFIX}`;

export async function writeChunkProvenance(outDir: string, file: ChunkProvenanceFile): Promise<string> {
  const dir = join(outDir, PROVENANCE_DIR);
  await mkdir(dir, { recursive: true });
  const path = join(dir, chunkProvenanceFile(file.chunkIndex));
  // 0o644: the records are the owner's export, meant to be handed to whoever checks the run.
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644 });
  return path;
}

/** One chunk's last record on an edge into the sink: the output the deliverable was assembled from. */
export interface FinalRecord {
  /** The producing step and its artifact. */
  step: string;
  artifact: string;
  /** sha256 of the chunk bytes the owner assembled. */
  digest: DigestSet;
  /** sha256 of that record's signed payload (what the chain's head is). */
  record: DigestSet;
}

/** The owner's policy in force when it attested: the signed bundle's manifest revision and digest. */
export interface PolicyInForce {
  revision: string;
  /** True for an owner-signed OPA bundle; false for a plain data document (unsigned mode). */
  signed: boolean;
  /** sha256 of the bundle archive (signed) or of the data document's canonical JSON. */
  digest: DigestSet;
}

export interface DeliverablePredicate {
  /** The workflow and the digest of its canonical form (see workflowDigest). */
  workflow: { id: string; digest: DigestSet };
  /** The sink step that assembled the deliverable, and the agent that ran it (its signer). */
  step: string;
  agent: string;
  deliverable: { bytes: number };
  /** null when the owner's runtime could not say which policy was in force (no control plane). */
  policy: PolicyInForce | null;
  chunkCount: number;
  /** Every chunk in order, with the final records of each edge into the sink. */
  chunks: Array<{ chunkIndex: number; records: FinalRecord[] }>;
  assembly: {
    /** Digest of the assembly's parameters (the tools it ran, with their exact arguments). */
    parameters: { digest: DigestSet };
    ffmpeg: { version: string; source: string };
  };
  producedAt: string;
}

export interface DeliverableStatement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: DigestSet }>;
  predicateType: typeof DELIVERABLE_PREDICATE_TYPE;
  predicate: DeliverablePredicate;
}

/** sha256 of the workflow document's canonical JSON: two verifiers with the same workflow agree on it. */
export function workflowDigest(workflow: Workflow): string {
  return sha256Hex(canonicalJson(JSON.parse(JSON.stringify(workflow))));
}

/** sha256 and length of a file, streamed (constant memory, whatever the film's length). */
export async function fileDigest(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  });
  return { sha256: hash.digest('hex'), bytes };
}

export interface AttestDeliverableInput {
  /** The deliverable file, complete. */
  file: string;
  workflow: Workflow;
  /** The sink step that assembled it. */
  step: string;
  chunks: FinalRecord[][];
  policy: PolicyInForce | null;
  parameters: Record<string, unknown>;
  ffmpeg: { version: string; source: string };
  producedAt?: Date;
}

/**
 * Sign the owner's Statement about a finished deliverable and write it beside the file as
 * `<file>.intoto.jsonl` (atomically, 0644: it is handed out with the file). Returns its path.
 */
export async function attestDeliverable(signer: Signer, input: AttestDeliverableInput): Promise<{ path: string; record: ProvenanceRecord; sha256: string; bytes: number }> {
  const { sha256, bytes } = await fileDigest(input.file);
  const statement: DeliverableStatement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: basename(input.file), digest: { sha256 } }],
    predicateType: DELIVERABLE_PREDICATE_TYPE,
    predicate: {
      workflow: { id: input.workflow.metadata.id, digest: { sha256: workflowDigest(input.workflow) } },
      step: input.step,
      agent: signer.spiffeId,
      deliverable: { bytes },
      policy: input.policy,
      chunkCount: input.chunks.length,
      chunks: input.chunks.map((records, chunkIndex) => ({ chunkIndex, records })),
      assembly: { parameters: { digest: { sha256: parametersDigest(input.parameters) } }, ffmpeg: input.ffmpeg },
      producedAt: (input.producedAt ?? new Date()).toISOString(),
    },
  };
  const record: ProvenanceRecord = {
    mediaType: RECORD_MEDIA_TYPE,
    dsseEnvelope: signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(canonicalJson(statement), 'utf8'), signer.key, signer.spiffeId),
    verificationMaterial: { certificateChain: splitPem(signer.chainPem) },
  };
  const path = attestationPathOf(input.file);
  await writeFileAtomic(path, `${JSON.stringify(record)}\n`, { mode: 0o644 });
  return { path, record, sha256, bytes };
}

/** What failed, when the deliverable itself (not one chunk) is refused. */
export type DeliverableFailure =
  | 'attestation-missing'
  | 'attestation-malformed'
  | 'certificate'
  | 'signature'
  | 'not-owner'
  | 'wrong-workflow'
  | 'truncated'
  | 'size'
  | 'digest'
  | 'chunks';

export interface ChunkVerdict {
  chunkIndex: number;
  ok: boolean;
  records?: number;
  error?: string;
  link?: BrokenLink;
}

export interface DeliverableReport {
  ok: boolean;
  deliverable: string;
  attestation: string;
  /** Set when refused: what failed, and a message naming it. */
  failure?: DeliverableFailure;
  error?: string;
  sha256?: string;
  bytes?: number;
  signer?: string;
  producedAt?: string;
  policy?: PolicyInForce | null;
  ffmpeg?: { version: string; source: string };
  chunkCount: number;
  chunks: ChunkVerdict[];
}

class Refused extends Error {
  constructor(
    readonly failure: DeliverableFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Verify a deliverable offline: `target` is the deliverable file, its `.intoto.jsonl`, or the
 * output folder holding exactly one attested deliverable. Checks, in order: the owner's signed
 * Statement (certificate chained to the mesh CA, signature, signer = the agent of the workflow's
 * sink step, same workflow), the file's length and sha256 against the Statement's subject, then
 * every chunk the Statement lists: its full chain back to the owner's originals, ending in exactly
 * the records the owner attested. Never throws for a refusal: the report says what failed.
 */
export async function verifyDeliverable(target: string, workflow: Workflow, caBundle: string | X509Certificate[], options: { now?: Date } = {}): Promise<DeliverableReport> {
  const roots = typeof caBundle === 'string' ? parseTrustBundle(caBundle) : caBundle;
  const deliverable = await resolveDeliverable(target);
  const report: DeliverableReport = { ok: false, deliverable, attestation: attestationPathOf(deliverable), chunkCount: 0, chunks: [] };
  try {
    const statement = await verifyAttestation(report, workflow, roots, options.now ?? new Date());
    await checkFile(report, statement);
    await checkChunks(report, statement, workflow, roots, options.now);
    report.ok = true;
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    report.failure = error.failure;
    report.error = error.message;
  }
  return report;
}

async function resolveDeliverable(target: string): Promise<string> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new Error(`${target} does not exist`);
  if (info.isFile()) return target.endsWith(ATTESTATION_SUFFIX) ? target.slice(0, -ATTESTATION_SUFFIX.length) : target;
  const attested = (await readdir(target)).filter((name) => name.endsWith(ATTESTATION_SUFFIX));
  if (attested.length === 1) return join(target, attested[0].slice(0, -ATTESTATION_SUFFIX.length));
  if (attested.length === 0) {
    const unattested = (await readdir(target).catch(() => [] as string[])).includes(PROVENANCE_DIR);
    throw new Error(`no deliverable attestation (<deliverable>${ATTESTATION_SUFFIX}) in ${target}${unattested ? ': the records in provenance/ are not bound to any deliverable' : ''}`);
  }
  throw new Error(`${target} holds ${attested.length} attested deliverables (${attested.join(', ')}): name the file to verify`);
}

async function verifyAttestation(report: DeliverableReport, workflow: Workflow, roots: X509Certificate[], now: Date): Promise<DeliverableStatement> {
  const path = report.attestation;
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Refused('attestation-missing', `no attestation beside ${basename(report.deliverable)} (expected ${basename(path)}): the deliverable is not attested by the owner`);
    throw error;
  });
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const malformed = (why: string) => new Refused('attestation-malformed', `${basename(path)}: ${why}`);
  if (lines.length !== 1) throw malformed(`want exactly one signed statement, found ${lines.length}`);
  let record: ProvenanceRecord;
  try {
    record = JSON.parse(lines[0]) as ProvenanceRecord;
  } catch {
    throw malformed('not JSON');
  }
  if (record?.mediaType !== RECORD_MEDIA_TYPE || !isDsseEnvelope(record.dsseEnvelope) || !Array.isArray(record.verificationMaterial?.certificateChain)) {
    throw malformed('not a DSSE envelope with its certificate chain');
  }
  let statement: DeliverableStatement;
  try {
    statement = JSON.parse(Buffer.from(record.dsseEnvelope.payload, 'base64').toString('utf8')) as DeliverableStatement;
  } catch {
    throw malformed('the payload is not JSON');
  }
  if (record.dsseEnvelope.payloadType !== IN_TOTO_PAYLOAD_TYPE || !isDeliverableStatement(statement)) {
    throw malformed('the payload is not a ReelMesh in-toto deliverable statement');
  }
  const p = statement.predicate;
  const producedAt = new Date(p.producedAt);
  if (Number.isNaN(producedAt.getTime()) || producedAt.getTime() > now.getTime() + FUTURE_SKEW_MS) throw malformed(`producedAt ${p.producedAt} is not a plausible signing time`);

  let signer;
  try {
    signer = verifyCertificateChain(record.verificationMaterial.certificateChain, roots, producedAt, { trustDomain: workflow.metadata.trustDomain });
  } catch (error) {
    throw new Refused('certificate', `attestation's signing certificate rejected: ${(error as Error).message}`);
  }
  if (!verifyEnvelope(record.dsseEnvelope, signer.publicKey)) {
    throw new Refused('signature', `attestation signature does not verify under ${signer.spiffeId}'s certificate (the statement was altered after signing)`);
  }
  const sink = buildGraph(workflow).step(p.step);
  if (!sink?.sink) throw new Refused('wrong-workflow', `the attestation names step "${p.step}", which is not a sink of workflow ${workflow.metadata.id}`);
  const owner = spiffeIdOfAgent(workflow, sink.agent);
  if (signer.spiffeId !== owner || p.agent !== owner) {
    throw new Refused('not-owner', `attestation signed by ${signer.spiffeId}, not by the owner: only ${owner} (agent ${sink.agent}, which runs step ${sink.name}) attests the deliverable`);
  }
  if (p.workflow.id !== workflow.metadata.id || p.workflow.digest.sha256 !== workflowDigest(workflow)) {
    throw new Refused(
      'wrong-workflow',
      `the deliverable was made under workflow "${p.workflow.id}" (sha256 ${short(p.workflow.digest.sha256)}), not the one given ("${workflow.metadata.id}", sha256 ${short(workflowDigest(workflow))})`,
    );
  }
  Object.assign(report, { signer: signer.spiffeId, producedAt: p.producedAt, policy: p.policy, ffmpeg: p.assembly.ffmpeg, chunkCount: p.chunkCount });
  return statement;
}

async function checkFile(report: DeliverableReport, statement: DeliverableStatement): Promise<void> {
  const name = basename(report.deliverable);
  const attested = { sha256: statement.subject[0].digest.sha256, bytes: statement.predicate.deliverable.bytes };
  const info = await stat(report.deliverable).catch(() => undefined);
  if (!info?.isFile()) throw new Refused('digest', `${name} is missing: the owner attested a ${attested.bytes}-byte file`);
  if (info.size < attested.bytes) throw new Refused('truncated', `${name} is truncated: ${info.size} bytes, the owner attested ${attested.bytes}`);
  if (info.size !== attested.bytes) throw new Refused('size', `${name} is ${info.size} bytes, the owner attested ${attested.bytes}: not the file the owner signed`);
  const { sha256, bytes } = await fileDigest(report.deliverable);
  Object.assign(report, { sha256, bytes });
  if (sha256 !== attested.sha256) {
    throw new Refused('digest', `${name} has sha256 ${short(sha256)}…, the owner attested ${short(attested.sha256)}…: the file was altered or swapped after the owner signed it`);
  }
}

async function checkChunks(report: DeliverableReport, statement: DeliverableStatement, workflow: Workflow, roots: X509Certificate[], now?: Date): Promise<void> {
  const dir = join(dirname(report.deliverable), PROVENANCE_DIR);
  const graph = buildGraph(workflow);
  const edges = graph.inputsOf(statement.predicate.step);
  const present = new Set((await readdir(dir).catch(() => [] as string[])).filter((n) => CHUNK_FILE.test(n)));
  for (const attested of statement.predicate.chunks) {
    const { chunkIndex } = attested;
    const name = chunkProvenanceFile(chunkIndex);
    try {
      if (!present.has(name)) throw new Error(`no provenance file ${PROVENANCE_DIR}/${name}, though the owner attested chunk ${chunkIndex}`);
      const file = JSON.parse(await readFile(join(dir, name), 'utf8')) as ChunkProvenanceFile;
      if (!Array.isArray(file.records)) throw new Error(`${name} holds no records`);
      const chain = verifyChain(file.records, workflow, roots, { chunkIndex, now });
      for (const edge of edges) {
        const head = headOf(chain, edge.from, edge.artifact);
        const want = attested.records.find((r) => r.step === edge.from && r.artifact === edge.artifact);
        if (!want) throw new Error(`the owner's attestation names no final record for ${edge.from}/${edge.artifact}`);
        if (!head || head.digest !== want.record.sha256 || head.sha256 !== want.digest.sha256) {
          throw new Error(
            `the chain's record of ${edge.from}/${edge.artifact} is ${head ? short(head.digest) : 'missing'}, the owner attested ${short(want.record.sha256)}: not the records the deliverable was assembled from`,
          );
        }
      }
      report.chunks.push({ chunkIndex, ok: true, records: chain.records.length });
    } catch (error) {
      report.chunks.push({ chunkIndex, ok: false, error: (error as Error).message, ...(isProvenanceError(error) ? { link: error.link } : {}) });
    }
  }
  const bad = report.chunks.filter((c) => !c.ok);
  if (bad.length > 0) throw new Refused('chunks', `${bad.length} of ${report.chunkCount} chunks refused; first: chunk ${bad[0].chunkIndex}: ${bad[0].error}`);
}

function isDeliverableStatement(s: DeliverableStatement): boolean {
  const p = s?.predicate;
  const digestOk = (d: unknown) => typeof (d as DigestSet | undefined)?.sha256 === 'string' && SHA256_HEX.test((d as DigestSet).sha256);
  const count = p?.chunkCount;
  return (
    s._type === STATEMENT_TYPE &&
    s.predicateType === DELIVERABLE_PREDICATE_TYPE &&
    Array.isArray(s.subject) &&
    s.subject.length === 1 &&
    typeof s.subject[0]?.name === 'string' &&
    digestOk(s.subject[0].digest) &&
    typeof p === 'object' &&
    p !== null &&
    typeof p.workflow?.id === 'string' &&
    digestOk(p.workflow.digest) &&
    typeof p.step === 'string' &&
    typeof p.agent === 'string' &&
    Number.isSafeInteger(p.deliverable?.bytes) &&
    (p.policy === null || (typeof p.policy?.revision === 'string' && digestOk(p.policy.digest))) &&
    Number.isSafeInteger(count) &&
    count > 0 &&
    Array.isArray(p.chunks) &&
    p.chunks.length === count &&
    // Every chunk, in order, each once.
    p.chunks.every((c, i) => c?.chunkIndex === i && Array.isArray(c.records) && c.records.every((r) => typeof r?.step === 'string' && typeof r.artifact === 'string' && digestOk(r.digest) && digestOk(r.record))) &&
    digestOk(p.assembly?.parameters?.digest) &&
    typeof p.assembly.ffmpeg?.version === 'string' &&
    typeof p.producedAt === 'string'
  );
}

const short = (hex: string) => hex.slice(0, 12);
