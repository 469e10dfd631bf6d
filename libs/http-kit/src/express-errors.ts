import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { errorBody, toHttpError } from './http-error';

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
