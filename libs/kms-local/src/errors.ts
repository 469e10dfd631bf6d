/**
 * KMS error types the SDK knows by name. The wire shape is AWS JSON 1.1:
 * HTTP 400, `{"__type": type, "message": ...}` and the `x-amzn-ErrorType` header.
 */
export type KmsErrorType =
  | 'AccessDeniedException'
  | 'AlreadyExistsException'
  | 'DisabledException'
  | 'IncompleteSignatureException'
  | 'IncorrectKeyException'
  | 'InvalidCiphertextException'
  | 'InvalidSignatureException'
  | 'KMSInternalException'
  | 'MalformedPolicyDocumentException'
  | 'MissingAuthenticationTokenException'
  | 'NotFoundException'
  | 'SerializationException'
  | 'UnknownOperationException'
  | 'UnrecognizedClientException'
  | 'ValidationException';

export class KmsError extends Error {
  constructor(
    readonly type: KmsErrorType,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** Anything that is not a KmsError is a bug or an I/O failure: never leak its details. */
export function toKmsError(err: unknown): KmsError {
  if (err instanceof KmsError) return err;
  return new KmsError('KMSInternalException', 'internal error', 500);
}
