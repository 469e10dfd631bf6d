// The workflow document as the rest of ReelMesh sees it, after validation.
// Objects returned by parseWorkflow/loadWorkflow are deeply frozen: the workflow is the owner's
// single source of truth, so nothing downstream may patch it in memory.

/**
 * A step's job is open: either a filter job declared in the workflow's `jobs:` section (one ffmpeg
 * filter chain, run by agent-kit itself) or a job module of the step's app,
 * `apps/<app>/src/jobs/<job>.ts` (docs/contractors.md). The name is a DNS label like every name.
 */
export type JobName = string;

/** A job whose whole work is one ffmpeg filter chain over the step's one input artifact. */
export interface FilterJob {
  readonly name: string;
  /** An ffmpeg filter graph (one chain: `-vf` for a picture, `-af` for a sound). */
  readonly filter: string;
}

export interface WorkflowMetadata {
  readonly id: string;
  readonly title: string;
  readonly trustDomain: string;
}

/** Picture codecs contractors exchange (docs/media.md has the measurements behind the default). */
export const MEZZANINE_CODECS = ['x264-lossless', 'ffv1', 'prores-hq', 'dnxhr-hqx'] as const;
export type MezzanineCodec = (typeof MEZZANINE_CODECS)[number];
/** Sound between contractors: PCM of 24 bits or more. */
export const PCM_INTERMEDIATES = ['pcm_s24le', 'pcm_s32le', 'pcm_f32le'] as const;
export const X265_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
export const SCALERS = ['bicubic', 'lanczos', 'spline', 'bilinear'] as const;
export const DEINTERLACERS = ['bwdif', 'yadif'] as const;
/** How a frame-rate conform makes each delivery frame: `nearest` shows the master frame nearest in
 * time (frames are dropped or repeated, never blended). */
export const FRAME_RATE_METHODS = ['nearest'] as const;

export interface MediaSettings {
  readonly chunkSeconds: number;
  readonly intermediate: { readonly picture: MezzanineCodec; readonly sound: (typeof PCM_INTERMEDIATES)[number] };
  readonly delivery: {
    readonly x265: { readonly preset: (typeof X265_PRESETS)[number]; readonly crf: number };
    readonly conform?: {
      readonly resolution?: { readonly width: number; readonly height: number };
      readonly scaler?: (typeof SCALERS)[number];
      readonly frameRate?: string;
      readonly frameRateMethod?: (typeof FRAME_RATE_METHODS)[number];
      readonly audio: { readonly sampleRate?: number; readonly channels?: 1 | 2 | 6 };
    };
  };
  readonly deinterlace?: (typeof DEINTERLACERS)[number];
  readonly loudness: { readonly integratedLufs: number; readonly truePeakDbtp: number };
  readonly lut: { readonly ref: string; readonly size: number };
  readonly hdr: { readonly masterDisplay: string; readonly maxCll: string };
}

export interface Actor {
  readonly name: string;
  readonly description: string;
}

export interface Agent {
  readonly name: string;
  readonly actor: string;
  readonly app: string;
  readonly role?: string;
}

export interface Step {
  readonly name: string;
  readonly agent: string;
  readonly job: JobName;
  readonly source?: boolean;
  readonly sink?: boolean;
}

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly artifact: string;
}

export interface Workflow {
  readonly apiVersion: 'reelmesh.io/v1';
  readonly kind: 'Workflow';
  readonly metadata: WorkflowMetadata;
  readonly media: MediaSettings;
  readonly actors: readonly Actor[];
  readonly agents: readonly Agent[];
  readonly steps: readonly Step[];
  /** Filter jobs the steps may name (absent: every job is a module of its app). */
  readonly jobs?: readonly FilterJob[];
  readonly edges: readonly Edge[];
}

/** One problem found in a workflow file; line/column are 1-based and present when parsed from text. */
export interface WorkflowIssue {
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}
