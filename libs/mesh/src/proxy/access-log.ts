import type { Writable } from 'node:stream';

export type Direction = 'inbound' | 'outbound';

/** One JSON line per request, Envoy access-log style. */
export interface AccessLogEntry {
  time: string;
  direction: Direction;
  source: string;
  destination: string;
  method: string;
  path: string;
  /** allow | deny | policy_unavailable | unknown_destination | upstream_error | bad_request */
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
