import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { buildGraph, spiffeId, type Workflow } from '@reelmesh/workflow';
import { parseTrustBundle } from './certificates';
import { createDevCa } from './dev-ca';
import { recordDigest } from './record';
import { createSigner, type Signer } from './signer';
import { signChunkChain, syntheticDigest } from './synthetic-chain';
import { verifyChain } from './verify-chain';
import { attestDeliverable, verifyDeliverable, writeChunkProvenance, type FinalRecord } from './deliverable';

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
  const { roots, signers } = await meshSigners(workflow);

  let signMs = 0;
  let verifyMs = 0;
  let records = 0;
  let bytes = 0;
  for (let chunk = 0; chunk < chunks; chunk++) {
    const out = signChunkChain(workflow, signers, chunk, chunks, { onSign: (ms) => (signMs += ms) });
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


async function meshSigners(workflow: Workflow) {
  const ca = await createDevCa();
  const signers = new Map<string, Signer>();
  for (const agent of workflow.agents) signers.set(agent.name, createSigner(await ca.issue(spiffeId(workflow, agent.name)))());
  return { roots: parseTrustBundle(ca.bundlePem), signers };
}

export interface AttestationBenchOptions {
  workflow: Workflow;
  /** Size of the synthetic deliverable, bytes (default 256 MiB). */
  bytes?: number;
  /** Chunks it is assembled from (default 30). */
  chunks?: number;
}

export interface AttestationBenchResult {
  bytes: number;
  chunks: number;
  /** The owner hashing the file and signing its Statement. */
  signMs: number;
  /** `reelmesh verify <deliverable>`: the Statement, the file's digest and every chunk's chain. */
  verifyMs: number;
  signMsPerGiB: number;
  verifyMsPerGiB: number;
}

/**
 * Benchmark hook: the cost of the deliverable's attestation, sign and verify, on a synthetic
 * deliverable of `bytes` with honest chunk records on disk (a temporary folder, removed after).
 */
export async function benchDeliverableAttestation(opts: AttestationBenchOptions): Promise<AttestationBenchResult> {
  const { workflow } = opts;
  const size = opts.bytes ?? 256 * 1024 * 1024;
  const chunkCount = opts.chunks ?? 30;
  const { roots, signers } = await meshSigners(workflow);
  const graph = buildGraph(workflow);
  const sink = graph.sinkSteps[0];
  const owner = signers.get(graph.step(sink)!.agent)!;
  const dir = await mkdtemp(join(tmpdir(), 'reelmesh-attest-bench-'));
  try {
    const finals: FinalRecord[][] = [];
    for (let chunk = 0; chunk < chunkCount; chunk++) {
      const chain = signChunkChain(workflow, signers, chunk, chunkCount);
      await writeChunkProvenance(dir, { workflowId: workflow.metadata.id, chunkIndex: chunk, chunkCount, records: [...chain.values()] });
      finals.push(
        graph.inputsOf(sink).map((e) => ({ step: e.from, artifact: e.artifact, digest: { sha256: syntheticDigest(e.from, e.artifact, chunk) }, record: { sha256: recordDigest(chain.get(`${e.from}/${e.artifact}`)!) } })),
      );
    }
    const file = join(dir, 'deliverable.mp4');
    await writeRandomFile(file, size);
    let started = performance.now();
    await attestDeliverable(owner, { file, workflow, step: sink, chunks: finals, policy: null, parameters: { job: 'bench' }, ffmpeg: { version: 'bench', source: 'none' } });
    const signMs = performance.now() - started;
    started = performance.now();
    const report = await verifyDeliverable(file, workflow, roots);
    const verifyMs = performance.now() - started;
    if (!report.ok) throw new Error(`attestation bench: verification failed: ${report.error}`);
    const gib = size / 2 ** 30;
    return { bytes: size, chunks: chunkCount, signMs, verifyMs, signMsPerGiB: signMs / gib, verifyMsPerGiB: verifyMs / gib };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A file of `size` random bytes, flushed to disk as the real deliverable is before it is attested. */
async function writeRandomFile(path: string, size: number): Promise<void> {
  const block = randomBytes(1 << 20);
  await pipeline(async function* () {
    for (let left = size; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
  }, createWriteStream(path));
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
