import type { HandoffManifest } from './manifest';

/** A chunk that was verified against its manifest and committed to the store. */
export interface ReceivedChunk {
  workflowId: string;
  step: string;
  artifact: string;
  chunkIndex: number;
  chunkCount: number;
  key: string;
  sha256: string;
  byteLength: number;
  manifest: HandoffManifest;
}
