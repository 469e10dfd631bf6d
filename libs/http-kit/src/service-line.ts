// The one line every ReelMesh process prints when it is ready, or when it could not start. The
// local runtime (the kubelet of `reelmesh demo`) reads these lines and nothing else, so every
// service — agent app, sidecar, control plane, KMS — announces itself the same way:
//   {"event":"ready","service":"proxy-sidecar","pid":4242,"endpoints":{"inbound":"https://127.0.0.1:40211",...}}
//   {"event":"error","service":"proxy-sidecar","pid":4242,"code":"CONFIG_INVALID","message":"--agent is required"}
// Ready lines go to stdout, error lines to stderr; both are single JSON lines.

export interface ReadyLine {
  event: 'ready';
  service: string;
  pid: number;
  /** What the service bound, by role: endpoint URLs (http://, https://, unix:). */
  endpoints: Record<string, string>;
  /** Anything else the starter needs (a SPIFFE id, key ARNs, ...). */
  details?: Record<string, unknown>;
}

export interface ErrorLine {
  event: 'error';
  service: string;
  pid: number;
  code: string;
  message: string;
}

export type ServiceLine = ReadyLine | ErrorLine;

export function readyLine(service: string, endpoints: Record<string, string>, details?: Record<string, unknown>): string {
  const line: ReadyLine = { event: 'ready', service, pid: process.pid, endpoints, ...(details ? { details } : {}) };
  return JSON.stringify(line);
}

export function errorLine(service: string, error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code) ? e.code : 'START_FAILED';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const line: ErrorLine = { event: 'error', service, pid: process.pid, code, message };
  return JSON.stringify(line);
}

/** The ready or error line in a line of output, or undefined for an ordinary log line. */
export function parseServiceLine(line: string): ServiceLine | undefined {
  if (!line.startsWith('{"event":"ready"') && !line.startsWith('{"event":"error"')) return undefined;
  let parsed: { event?: unknown; service?: unknown; pid?: unknown; endpoints?: unknown; code?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed.service !== 'string' || typeof parsed.pid !== 'number') return undefined;
  if (parsed.event === 'ready' && isStringRecord(parsed.endpoints)) return parsed as unknown as ReadyLine;
  if (parsed.event === 'error' && typeof parsed.code === 'string' && typeof parsed.message === 'string') return parsed as unknown as ErrorLine;
  return undefined;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
