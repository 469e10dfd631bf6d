/** Every way opening or sealing an envelope can fail, as a stable machine-readable code. */
export type EnvelopeErrorCode =
  /** The stream ended before the final frame (or inside the header). */
  | 'ENVELOPE_TRUNCATED'
  /** A frame failed authentication: flipped bits, dropped, reordered or spliced frames. */
  | 'ENVELOPE_TAMPERED'
  /** The header is not a well-formed envelope header of a version we read. */
  | 'ENVELOPE_BAD_HEADER'
  /** The header's encryption context is not the one the opener expects. */
  | 'ENVELOPE_CONTEXT_MISMATCH'
  /** The data key does not match the header's key-commitment value. */
  | 'ENVELOPE_KEY_COMMITMENT'
  /** The header names a KMS key this opener is not configured to trust. */
  | 'ENVELOPE_KEY_NOT_ALLOWED'
  /** KMS (or the data-key provider) could not be reached or failed. */
  | 'ENVELOPE_KMS_UNAVAILABLE'
  /** KMS refused: access denied, wrong context, invalid ciphertext, disabled key. */
  | 'ENVELOPE_KMS_DENIED'
  /** The object is larger than the format allows (2^32 frames). */
  | 'ENVELOPE_TOO_LARGE'
  /** The caller passed invalid options (frame size, context, key length...). */
  | 'ENVELOPE_BAD_OPTIONS';

/** The one error type of the envelope library; `code` says what happened, `message` says it for humans. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isEnvelopeError(error: unknown, code?: EnvelopeErrorCode): error is EnvelopeError {
  return error instanceof EnvelopeError && (code === undefined || error.code === code);
}
