// @reelmesh/http-kit: what every ReelMesh HTTP service shares — one error type and JSON error
// answer, capped body readers, listen/close on TCP port 0 or a Unix socket, a client for both,
// and the one ready/error line every process announces itself with.
export { HttpError, toHttpError, isStorageFull, errorBody, type ErrorBody, type HttpErrorOptions } from './http-error';
export { sendJson, sendError } from './respond';
export { readBody, readJsonBody, type BodyLimit } from './body';
export { jsonErrorHandler } from './express-errors';
export { listen, closeServer, endpointOf, parseListenAddress, connectTarget, connectOptions, MAX_SOCKET_PATH, type ListenAddress, type ConnectTarget } from './endpoint';
export { request, requestJson, ResponseError, type RequestOptions, type Response } from './client';
export { readyLine, errorLine, parseServiceLine, type ReadyLine, type ErrorLine, type ServiceLine } from './service-line';
export { runService, ConfigError, type StartedService } from './run-service';
export { defineProgram, type Program } from './program';
export { openEventStream, readEventStream, followEventStream, type EventStream, type EventStreamMessage, type EventStreamOptions, type FollowOptions, type Following } from './event-stream';
