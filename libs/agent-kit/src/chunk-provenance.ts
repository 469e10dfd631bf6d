import type { X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { buildGraph, type Step, type Workflow, type WorkflowGraph } from '@reelmesh/workflow';
import type { ReceivedChunk } from '@reelmesh/handoff';
import { HttpError } from '@reelmesh/http-kit';
import { ffmpegSource, ffmpegVersion } from '@reelmesh/media';
import {
  attestDeliverable,
  headOf,
  isProvenanceError,
  mergeRecords,
  parseTrustBundle,
  recordDigest,
  signRecord,
  verifyChain,
  verifyHandoffProvenance,
  writeChunkProvenance,
  type FinalRecord,
  type PolicyInForce,
  type ProvenanceRecord,
  type Signer,
} from '@reelmesh/provenance';

/** What an agent signs and verifies provenance with (its SVID, and the mesh trust bundle). */
export interface ProvenanceIdentity {
  signer: () => Signer;
  caBundlePem: string;
  /** The owner's policy in force (from the control plane), named in the deliverable's attestation. */
  policy?: () => Promise<PolicyInForce>;
  stop?: () => void;
}

/**
 * What is kept in memory of a chunk received, from its receipt until its job is done (for the
 * sink: until the deliverable is attested): two digests, not its chain. The chain (several signed
 * records with their certificate chains, kilobytes per chunk) stays in the volume, in the chunk's
 * slot record, and is read back when it is needed; the head digest pins it (every record names
 * its inputs' record digests), so what is read back is the chain verified at receipt or refused.
 */
interface Received {
  sha256: string;
  /** Digest of the verified record of the producer's output. */
  head: string;
}

/** Reads the chain a received chunk came with back from the volume (its slot record's manifest). */
export type ChainReader = (slot: { step: string; artifact: string; chunkIndex: number }) => Promise<unknown>;

/**
 * The agent side of signed provenance: verify the chain on every chunk received (422
 * PROVENANCE_INVALID otherwise), sign a record for every output, and at the sink re-verify each
 * chunk's full chain back to this owner's own originals before anything is assembled.
 */
export class ChunkProvenance {
  readonly #graph: WorkflowGraph;
  readonly #roots: X509Certificate[];
  readonly #received = new Map<string, Received>();
  /** Source outputs this agent signed itself: `${step}/${artifact}` -> sha256, per chunk. */
  readonly #originals = new Map<number, Record<string, string>>();
  /** Sink: per step, each chunk's final records (the chain heads it assembles), for the attestation. */
  readonly #finals = new Map<string, FinalRecord[][]>();
  /** CPU time spent on provenance (benchmarks set it against the run's wall time). */
  readonly #stats = { recordsSigned: 0, chainsVerified: 0, signMs: 0, verifyMs: 0, attestMs: 0 };

  constructor(
    private readonly workflow: Workflow,
    private readonly identity: ProvenanceIdentity,
    private readonly options: { readChain: ChainReader; recordsDir?: string; logger?: Logger },
  ) {
    this.#graph = buildGraph(workflow);
    this.#roots = parseTrustBundle(identity.caBundlePem);
  }

  stats() {
    return { ...this.#stats };
  }

  /** Called for every new chunk before the runtime sees it; a throw undoes the store. */
  accept(chunk: ReceivedChunk): void {
    const started = performance.now();
    try {
      const chain = verifyHandoffProvenance(chunk.manifest.provenance, chunk, this.workflow, this.#roots);
      const from = this.#graph.inputsOf(chunk.step).find((e) => e.artifact === chunk.artifact)!.from;
      this.#received.set(slotKey(chunk.step, chunk.artifact, chunk.chunkIndex), { sha256: chunk.sha256, head: headOf(chain, from, chunk.artifact)!.digest });
    } catch (error) {
      if (!isProvenanceError(error)) throw error;
      this.options.logger?.warn({ step: chunk.step, artifact: chunk.artifact, chunk: chunk.chunkIndex, link: error.link }, 'chunk refused: provenance invalid');
      throw new HttpError(422, 'PROVENANCE_INVALID', error.message);
    } finally {
      this.#stats.verifyMs += performance.now() - started;
      this.#stats.chainsVerified += 1;
    }
  }

  /** Sign a record for each output of `step` for one chunk; returns the chain to hand over with each, by artifact. */
  async sign(
    step: Step,
    outputs: Array<{ artifact: string; sha256: string }>,
    job: { chunkIndex: number; chunkCount: number; parameters: Record<string, unknown> },
  ): Promise<Record<string, ProvenanceRecord[]>> {
    const { chunkIndex, chunkCount } = job;
    const edges = this.#graph.inputsOf(step.name);
    const inputs = await Promise.all(
      edges.map(async (edge) => {
        const got = this.#received.get(slotKey(step.name, edge.artifact, chunkIndex));
        if (!got) throw new Error(`no verified provenance for input ${edge.artifact} of ${step.name} chunk ${chunkIndex}`);
        const records = await this.#chainOf(step.name, edge.artifact, chunkIndex, got);
        return { records, input: { step: edge.from, artifact: edge.artifact, digest: { sha256: got.sha256 }, record: { sha256: got.head } } };
      }),
    );
    const started = performance.now();
    const chains: Record<string, ProvenanceRecord[]> = {};
    for (const { artifact, sha256 } of outputs) {
      const record = signRecord(this.identity.signer(), {
        workflowId: this.workflow.metadata.id,
        step: step.name,
        artifact,
        chunkIndex,
        chunkCount,
        sha256,
        inputs: inputs.map((i) => i.input),
        parameters: job.parameters,
      });
      if (step.source) this.#originals.set(chunkIndex, { ...this.#originals.get(chunkIndex), [`${step.name}/${artifact}`]: sha256 });
      chains[artifact] = mergeRecords(...inputs.map((i) => i.records), [record]);
      this.#stats.recordsSigned += 1;
    }
    this.#stats.signMs += performance.now() - started;
    return chains;
  }

  /**
   * The chain a chunk came with, read back from the volume: refused unless it still holds the
   * record verified at receipt (whose digest was kept), so it is that chain and no other.
   */
  async #chainOf(step: string, artifact: string, chunkIndex: number, got: Received): Promise<ProvenanceRecord[]> {
    const records = ((await this.options.readChain({ step, artifact, chunkIndex })) as { records?: unknown } | undefined)?.records;
    if (!Array.isArray(records) || !records.some((r) => digestOf(r) === got.head)) {
      throw new HttpError(422, 'PROVENANCE_INVALID', `the chain of ${step}/${artifact} chunk ${chunkIndex} in the volume is not the one verified at receipt`);
    }
    return records as ProvenanceRecord[];
  }

  /** Chunks whose received provenance is held (what the memory bound is checked against). */
  get held(): number {
    return this.#received.size;
  }

  /** A step's job for a chunk is done: its inputs' chains are no longer needed. */
  forget(step: Step, chunkIndex: number): void {
    for (const edge of this.#graph.inputsOf(step.name)) this.#received.delete(slotKey(step.name, edge.artifact, chunkIndex));
  }

  /** Sink: every chunk's full chain, back to this agent's own originals; records written beside the deliverable. */
  async verifyGather(step: Step, chunkCount: number): Promise<void> {
    const edges = this.#graph.inputsOf(step.name);
    const finals: FinalRecord[][] = [];
    for (let chunkIndex = 0; chunkIndex < chunkCount; chunkIndex++) {
      const got = edges.map((edge) => ({ edge, got: this.#received.get(slotKey(step.name, edge.artifact, chunkIndex)) }));
      const missing = got.find((g) => !g.got);
      if (missing) throw new HttpError(422, 'PROVENANCE_INVALID', `no verified provenance for ${missing.edge.artifact} of chunk ${chunkIndex}`);
      // One chunk's chains in memory at a time, read back from the volume.
      const records = mergeRecords(...(await Promise.all(got.map((g) => this.#chainOf(step.name, g.edge.artifact, chunkIndex, g.got!)))));
      const started = performance.now();
      try {
        verifyChain(records, this.workflow, this.#roots, {
          chunkIndex,
          targets: got.map((g) => ({ step: g.edge.from, artifact: g.edge.artifact, sha256: g.got!.sha256 })),
          originals: this.#originals.get(chunkIndex),
        });
      } catch (error) {
        if (isProvenanceError(error)) throw new HttpError(422, 'PROVENANCE_INVALID', `chunk ${chunkIndex}: ${error.message}`);
        throw error;
      } finally {
        this.#stats.verifyMs += performance.now() - started;
        this.#stats.chainsVerified += 1;
      }
      finals.push(got.map((g) => ({ step: g.edge.from, artifact: g.edge.artifact, digest: { sha256: g.got!.sha256 }, record: { sha256: g.got!.head } })));
      if (this.options.recordsDir) {
        await writeChunkProvenance(this.options.recordsDir, { workflowId: this.workflow.metadata.id, chunkIndex, chunkCount, records });
      }
    }
    this.#finals.set(step.name, finals);
  }

  /**
   * Sink: sign the owner's in-toto Statement about the finished deliverable (its sha256, the
   * workflow, the policy in force, every chunk's final records, the assembly's parameters and
   * ffmpeg build) and write it beside the file. Only after verifyGather passed for `step`.
   */
  async attestDeliverable(step: Step, file: string, parameters: Record<string, unknown>): Promise<{ path: string; sha256: string; bytes: number; chunkCount: number }> {
    const chunks = this.#finals.get(step.name);
    if (!chunks) throw new Error(`no verified chunks to attest for step ${step.name}`);
    const [version, policy] = await Promise.all([ffmpegVersion(), this.identity.policy?.() ?? null]);
    const started = performance.now();
    try {
      const { path, sha256, bytes } = await attestDeliverable(this.identity.signer(), {
        file,
        workflow: this.workflow,
        step: step.name,
        chunks,
        policy,
        parameters,
        ffmpeg: { version: version.raw, source: ffmpegSource() },
      });
      this.options.logger?.info({ deliverable: file, sha256, attestation: path, policy: policy?.revision ?? null }, 'deliverable attested');
      return { path, sha256, bytes, chunkCount: chunks.length };
    } finally {
      this.#stats.attestMs += performance.now() - started;
    }
  }
}

const slotKey = (step: string, artifact: string, chunkIndex: number) => `${step}/${artifact}#${chunkIndex}`;

/** A record's digest, or undefined for anything that is not a record (a malformed chain). */
function digestOf(value: unknown): string | undefined {
  try {
    return recordDigest(value as ProvenanceRecord);
  } catch {
    return undefined;
  }
}
