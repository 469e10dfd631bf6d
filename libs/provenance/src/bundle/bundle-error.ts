export type BundleErrorCode =
  | 'BUNDLE_MALFORMED'
  | 'BUNDLE_UNSIGNED'
  | 'BUNDLE_SIGNATURE_INVALID'
  | 'BUNDLE_FILE_MODIFIED'
  | 'BUNDLE_FILE_UNSIGNED'
  | 'BUNDLE_FILE_MISSING'
  | 'BUNDLE_REVISION_REPLAYED';

/** A policy bundle that must not be loaded; `code` says why. */
export class BundleError extends Error {
  constructor(
    readonly code: BundleErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BundleError';
  }
}
