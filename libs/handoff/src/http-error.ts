import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';

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

export interface ErrorBody {
  error: { code: string; message: string };
}

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
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
};

/**
 * Normalise anything thrown into an HttpError. Errors from Express and its body parsers carry
 * `status` + `expose`; everything else is an internal error whose message must not leak.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const e = error as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown; message?: unknown } | null;
  const status = Number(e?.status ?? e?.statusCode);
  if (Number.isInteger(status) && status >= 400 && status <= 599) {
    const expose = e?.expose === true && status < 500;
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

/** Express error middleware: every error becomes `{"error":{"code","message"}}` with its status. */
export function jsonErrorHandler(logger?: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    const httpError = toHttpError(error);
    const log = (req as { log?: Logger }).log ?? logger;
    if (httpError.status >= 500) log?.error({ err: error, code: httpError.code }, 'request failed');
    else log?.info({ code: httpError.code, status: httpError.status, reason: httpError.message }, 'request rejected');
    // Too late for a JSON answer: let Express close the connection.
    if (res.headersSent) return next(error);
    res.status(httpError.status).json(errorBody(httpError));
  };
}
