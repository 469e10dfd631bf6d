import type { Readable } from 'node:stream';

/** Media settings of the workflow file (`media:` in policies/workflow.yaml). Kept local on purpose:
 * @reelmesh/workflow declares the same shape, and media must not depend on it. Nothing here fixes
 * the picture size, frame rate or channel layout: those are the master's own (see ProgrammeFormat),
 * unless `delivery.conform` asks for another, explicitly. */
export interface MediaSettings {
  chunkSeconds: number;
  intermediate: { picture: MezzanineCodec; sound: PcmIntermediate };
  delivery: {
    x265: { preset: string; crf: number };
    conform?: Conform;
  };
  deinterlace?: 'bwdif' | 'yadif';
  loudness: { integratedLufs: number; truePeakDbtp: number };
  lut: { ref: string; size: number };
  hdr: { masterDisplay: string; maxCll: string };
}

export type MezzanineCodec = 'x264-lossless' | 'ffv1' | 'prores-hq' | 'dnxhr-hqx';
export type PcmIntermediate = 'pcm_s24le' | 'pcm_s32le' | 'pcm_f32le';

/** An explicit delivery format: a new picture size (with the scaler that makes it), a new frame
 * rate (with its method), and/or a new sample rate or channel count. */
export interface Conform {
  resolution?: { width: number; height: number };
  scaler?: 'bicubic' | 'lanczos' | 'spline' | 'bilinear';
  /** '25', '24000/1001', ...: each delivery frame shows the nearest master frame (frameRateMethod 'nearest'). */
  frameRate?: string;
  frameRateMethod?: 'nearest';
  audio?: { sampleRate?: number; channels?: 1 | 2 | 6 };
}

/** A re-openable input: a job may read its input more than once (e.g. two-pass loudness). */
export type Source = () => Readable | Promise<Readable>;
