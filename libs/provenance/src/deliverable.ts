import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { writeFileAtomic } from '@reelmesh/storage';
import type { Workflow } from '@reelmesh/workflow';
import { parseTrustBundle } from './certificates';
import { isProvenanceError, type BrokenLink } from './provenance-error';
import type { ProvenanceRecord } from './record';
import { verifyChain } from './verify-chain';

// The records of a finished run, kept beside the deliverable (<out>/provenance/chunk-NNNNN.json)
// so anyone holding the mesh CA bundle can re-check the whole run offline.

export const PROVENANCE_DIR = 'provenance';
const CHUNK_FILE = /^chunk-(\d{5})\.json$/;

export interface ChunkProvenanceFile {
  workflowId: string;
  chunkIndex: number;
  chunkCount: number;
  records: ProvenanceRecord[];
}

export const chunkProvenanceFile = (chunkIndex: number) => `chunk-${String(chunkIndex).padStart(5, '0')}.json`;

export async function writeChunkProvenance(outDir: string, file: ChunkProvenanceFile): Promise<string> {
  const dir = join(outDir, PROVENANCE_DIR);
  await mkdir(dir, { recursive: true });
  const path = join(dir, chunkProvenanceFile(file.chunkIndex));
  // 0o644: the records are the owner's export, meant to be handed to whoever checks the run.
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644 });
  return path;
}

export interface ChunkVerdict {
  chunkIndex: number;
  ok: boolean;
  records?: number;
  error?: string;
  link?: BrokenLink;
}

export interface DeliverableReport {
  ok: boolean;
  chunkCount: number;
  chunks: ChunkVerdict[];
}

/** Verify every chunk's full chain; a missing chunk file or a broken chain makes the report fail. */
export async function verifyDeliverable(outDir: string, workflow: Workflow, caBundle: string | X509Certificate[]): Promise<DeliverableReport> {
  const roots = typeof caBundle === 'string' ? parseTrustBundle(caBundle) : caBundle;
  const dir = join(outDir, PROVENANCE_DIR);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => CHUNK_FILE.test(n)).sort();
  } catch {
    throw new Error(`no provenance records in ${dir}`);
  }
  if (names.length === 0) throw new Error(`no provenance records in ${dir}`);

  const chunks: ChunkVerdict[] = [];
  let chunkCount = 0;
  for (const name of names) {
    const fileIndex = Number(CHUNK_FILE.exec(name)![1]);
    try {
      const file = JSON.parse(await readFile(join(dir, name), 'utf8')) as ChunkProvenanceFile;
      if (!Array.isArray(file.records)) throw new Error(`${name} holds no records`);
      const chain = verifyChain(file.records, workflow, roots, { chunkIndex: fileIndex });
      const count = chain.records[0].statement.predicate.chunkCount;
      chunkCount = Math.max(chunkCount, count);
      chunks.push({ chunkIndex: fileIndex, ok: true, records: chain.records.length });
    } catch (error) {
      chunks.push({ chunkIndex: fileIndex, ok: false, error: (error as Error).message, ...(isProvenanceError(error) ? { link: error.link } : {}) });
    }
  }
  for (let i = 0; i < chunkCount; i++) {
    if (!chunks.some((c) => c.chunkIndex === i)) chunks.push({ chunkIndex: i, ok: false, error: `no provenance for chunk ${i} (chunk missing from the deliverable's records)` });
  }
  chunks.sort((a, b) => a.chunkIndex - b.chunkIndex);
  return { ok: chunks.every((c) => c.ok), chunkCount, chunks };
}
