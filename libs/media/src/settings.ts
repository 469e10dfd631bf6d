import type { Readable } from 'node:stream';

/** Media settings of the workflow file (`media:` in policies/workflow.yaml). Kept local on purpose:
 * @reelmesh/workflow declares the same shape, and media must not depend on it. */
export interface MediaSettings {
  chunkSeconds: number;
  resolution: { width: number; height: number };
  frameRate: number;
  audio: { sampleRate: number; channels: number };
  loudness: { integratedLufs: number; truePeakDbtp: number };
  lut: { ref: string; size: number };
  hdr: { masterDisplay: string; maxCll: string };
}

/** A re-openable input: a job may read its input more than once (e.g. two-pass loudness). */
export type Source = () => Readable | Promise<Readable>;
