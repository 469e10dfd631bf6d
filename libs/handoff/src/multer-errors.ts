import multer from 'multer';
import { HttpError, toHttpError } from '@reelmesh/http-kit';

const { MulterError } = multer;

/** multer's limit codes, as our protocol's codes. */
const MULTER_CODES: Record<string, (field?: string) => HttpError> = {
  LIMIT_FILE_SIZE: () => new HttpError(413, 'CHUNK_TOO_LARGE', 'the chunk part exceeds the size limit'),
  LIMIT_PART_COUNT: () => new HttpError(413, 'TOO_MANY_PARTS', 'too many parts: send exactly "manifest" then "chunk"'),
  LIMIT_FIELD_COUNT: () => new HttpError(413, 'TOO_MANY_FIELDS', 'too many fields: only "manifest" is allowed'),
  LIMIT_FILE_COUNT: () => new HttpError(413, 'TOO_MANY_PARTS', 'too many file parts: only "chunk" is allowed'),
  LIMIT_FIELD_VALUE: (field) =>
    field === 'manifest'
      ? new HttpError(413, 'MANIFEST_TOO_LARGE', 'the manifest field exceeds the size limit')
      : new HttpError(413, 'FIELD_TOO_LARGE', `field "${field}" exceeds the size limit`),
  LIMIT_FIELD_KEY: () => new HttpError(400, 'FIELD_NAME_TOO_LONG', 'a part name is too long'),
  LIMIT_UNEXPECTED_FILE: (field) => new HttpError(400, 'UNEXPECTED_PART', `unexpected file part "${field}"`),
  MISSING_FIELD_NAME: () => new HttpError(400, 'UNEXPECTED_PART', 'a part has no name'),
};

const CLIENT_GONE = new Set(['Request aborted', 'Request closed']);

/**
 * Whatever multer (or busboy under it) reports, as an HttpError. Our engine already throws
 * HttpErrors; a file-system error (ENOSPC, ...) is ours, mapped by the one rule of toHttpError
 * (a full volume is 507); any other plain Error from the middleware is a multipart syntax problem
 * of the client.
 */
export function fromMulterError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof Error && 'syscall' in error) return toHttpError(error);
  if (error instanceof MulterError) {
    const make = MULTER_CODES[error.code];
    return make ? make(error.field) : new HttpError(400, 'MALFORMED_MULTIPART', error.message);
  }
  if (error instanceof Error && CLIENT_GONE.has(error.message)) {
    return new HttpError(400, 'CLIENT_ABORTED', 'the client closed the request before it was complete');
  }
  if (error instanceof Error && !('status' in error)) {
    return new HttpError(400, 'MALFORMED_MULTIPART', `malformed multipart body: ${error.message}`, { cause: error });
  }
  return toHttpError(error);
}
