import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Writable } from 'node:stream';
import { HttpError, sendError } from '@reelmesh/http-kit';

export type Direction = 'inbound' | 'outbound';

/** One JSON line per request, Envoy access-log style. */
export interface AccessLogEntry {
  time: string;
  direction: Direction;
  source: string;
  destination: string;
  method: string;
  path: string;
  /** allow | deny | policy_unavailable | unknown_destination | upstream_error | bad_request | peer_refused (a client certificate refused: no request) */
  decision: string;
  status: number;
  /** Body bytes in both directions (request + response). */
  bytes: number;
  durationMs: number;
  reason?: string;
  /** Serial of the peer certificate that authenticated the connection (inbound). */
  peerSerial?: string;
}

export type AccessLogger = (entry: AccessLogEntry) => void;

export function createAccessLogger(out: Writable | undefined): AccessLogger {
  if (!out) return () => {};
  return (entry) => {
    out.write(JSON.stringify(entry) + '\n');
  };
}

/** Who is talking to whom; the destination may be known only once the registry answered (outbound). */
type Parties = Pick<AccessLogEntry, 'direction' | 'source'> & { destination?: string; peerSerial?: string };

/**
 * The bookkeeping of one proxied request: its access-log entry (timed from here, written once with
 * the outcome) and the proxy's own JSON refusals (Envoy's local replies).
 */
export function requestRecord(log: AccessLogger, req: IncomingMessage, res: ServerResponse, parties: Parties) {
  const started = performance.now();
  const time = new Date().toISOString();
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  return {
    method,
    path,
    entry(decision: string, status: number, bytes: number, reason?: string, destination = parties.destination ?? ''): void {
      log({
        time,
        direction: parties.direction,
        source: parties.source,
        destination,
        method,
        path,
        decision,
        status,
        bytes,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
        reason,
        ...(parties.peerSerial === undefined ? {} : { peerSerial: parties.peerSerial }),
      });
    },
    refuse(status: number, code: string, message: string): void {
      sendError(req, res, new HttpError(status, code, message, { expose: true }));
    },
  };
}
