// The workflow document as the rest of ReelMesh sees it, after validation.
// Objects returned by parseWorkflow/loadWorkflow are deeply frozen: the workflow is the owner's
// single source of truth, so nothing downstream may patch it in memory.

/** Media jobs an agent app knows how to run on a chunk. */
export const JOB_NAMES = [
  'split',
  'demux',
  'picture-fx',
  'sound-fx',
  'grade',
  'hdr10',
  'loudness',
  'assemble',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

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
  readonly edges: readonly Edge[];
}

/** One problem found in a workflow file; line/column are 1-based and present when parsed from text. */
export interface WorkflowIssue {
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}
