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

export interface MediaSettings {
  readonly chunkSeconds: number;
  readonly resolution: { readonly width: number; readonly height: number };
  readonly frameRate: number;
  readonly audio: { readonly sampleRate: number; readonly channels: number };
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
