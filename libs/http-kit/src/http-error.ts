// The one error type every ReelMesh HTTP service throws, and the one function that turns anything
// thrown into it (practica's AppError + error handler, and opa-envoy-plugin's error table, in one).

export interface HttpErrorOptions {
  /** Whether `message` may be shown to the client (default: status < 500). */
  expose?: boolean;
  cause?: unknown;
}

/** An error with an HTTP status and a stable machine-readable code (`UPPER_SNAKE`). */
export class HttpError extends Error {
  readonly expose: boolean;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.expose = options.expose ?? status < 500;
  }
}

/** What every service answers on error: `{"error":{"code","message"}}`. */
export interface ErrorBody {
  error: { code: string; message: string };
}

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
  507: 'INSUFFICIENT_STORAGE',
};

/** What a full volume reports: no space left on the device, or the quota of its owner used up. */
const STORAGE_FULL: Record<string, string> = { ENOSPC: 'no space left', EDQUOT: 'disk quota exceeded' };

/** Is this a full volume (ENOSPC, EDQUOT)? The one test, wherever an error may mean "disk full". */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(STORAGE_FULL, code);
}

/** Object keys and volume names are safe to show; anything else (paths, internals) is left out. */
const SHOWABLE = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,511}$/;

/**
 * 507 INSUFFICIENT_STORAGE for a full volume. The message names the volume and the object when the
 * store said which (`volume`, `objectKey`: see @reelmesh/storage), never a file path.
 */
function storageFull(error: { code?: unknown; volume?: unknown; objectKey?: unknown }): HttpError {
  const show = (value: unknown) => (typeof value === 'string' && SHOWABLE.test(value) ? value : undefined);
  const volume = show(error.volume);
  const key = show(error.objectKey);
  const code = String(error.code);
  const message = `${volume ? `the volume of ${volume}` : 'the volume'} is full (${code}: ${STORAGE_FULL[code]})${key ? `: cannot store ${key}` : ''}; retry once space is freed`;
  return new HttpError(507, 'INSUFFICIENT_STORAGE', message, { expose: true, cause: error });
}

/**
 * Normalise anything thrown into an HttpError. Errors that carry their own `status` (Express,
 * body parsers, other libraries' errors such as a policy store's) keep it and their code; a full
 * volume (ENOSPC, EDQUOT) is 507 INSUFFICIENT_STORAGE, which senders retry; anything else is an
 * internal error whose message must not leak.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isStorageFull(error)) return storageFull(error as { code: string });
  const e = error as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown; message?: unknown } | null;
  const status = Number(e?.status ?? e?.statusCode);
  if (Number.isInteger(status) && status >= 400 && status <= 599) {
    const expose = (e?.expose ?? status < 500) === true && status < 500;
    const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code) ? e.code : (STATUS_CODES[status] ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL'));
    const message = expose && typeof e?.message === 'string' ? e.message : status < 500 ? 'bad request' : 'internal error';
    return new HttpError(status, code, message, { expose, cause: error });
  }
  return new HttpError(500, 'INTERNAL', 'internal error', { expose: false, cause: error });
}

/** The JSON body for an error; unexposed messages are replaced so internals never leak. */
export function errorBody(error: HttpError): ErrorBody {
  const message = error.expose ? error.message : error.status < 500 ? 'bad request' : 'internal error';
  return { error: { code: error.code, message } };
}
