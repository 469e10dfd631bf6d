import type { ProgrammeFormat } from '@reelmesh/media';
import type { MediaSettings } from '@reelmesh/workflow';
import type { Run } from '../run-state';

/** What the owner's jobs share with the app: the run in progress and the master as inspected. */
export interface OwnerJobContext {
  run: Run;
  media: MediaSettings;
  /** The master being split (set at ingest, or when a restart takes the run up). */
  masterPath(): string;
  /** The programme as inspected at ingest: the master's own format, its frame count and chunking. */
  format(): ProgrammeFormat;
  exportDir?: string;
}
