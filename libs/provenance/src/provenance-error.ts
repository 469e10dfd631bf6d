/** Which kind of broken link a provenance check found (the attack it points at). */
export type BrokenLinkKind =
  | 'malformed'
  | 'signature'
  | 'certificate'
  | 'wrong-signer'
  | 'wrong-workflow'
  | 'replayed-chunk'
  | 'swapped-digest'
  | 'swapped-record'
  | 'skipped-step'
  | 'missing-record'
  | 'conflicting-record'
  | 'unexpected-record'
  | 'not-original';

export interface BrokenLink {
  kind: BrokenLinkKind;
  step?: string;
  artifact?: string;
  chunkIndex?: number;
}

/** A provenance record or chain that must be refused; `link` says where it broke. */
export class ProvenanceError extends Error {
  readonly code = 'PROVENANCE_INVALID';
  constructor(
    message: string,
    readonly link: BrokenLink,
  ) {
    super(message);
    this.name = 'ProvenanceError';
  }
}

export function isProvenanceError(error: unknown): error is ProvenanceError {
  return error instanceof ProvenanceError;
}
