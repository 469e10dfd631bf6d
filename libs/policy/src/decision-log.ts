// OPA-style decision log: one JSON line per decision. Only a summary of the input is logged
// (principals, method, path): headers can carry tokens and never leave the sidecar.
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';

/** Paths are attacker-controlled; keep log lines bounded. */
const MAX_LOGGED_PATH = 512;

export interface InputSummary {
  source?: string;
  destination?: string;
  method?: string;
  path?: string;
}

export interface DecisionLogEntry {
  decision_id: string;
  timestamp: string;
  /** The queried document, e.g. "reelmesh/authz/allow". */
  path: string;
  input: InputSummary | null;
  result: unknown;
  reason?: string;
  duration_ms: number;
}

export function summarizeInput(input: unknown): InputSummary | null {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return null;
  const attributes = pick(input, 'attributes');
  const http = pick(pick(attributes, 'request'), 'http');
  return {
    source: text(pick(pick(attributes, 'source'), 'principal')),
    destination: text(pick(pick(attributes, 'destination'), 'principal')),
    method: text(pick(http, 'method')),
    path: text(pick(http, 'path')),
  };
}

/** Where decisions go besides the local file: the owner's audit ledger (see AuditShipper). */
export interface DecisionSink {
  record(entry: DecisionLogEntry): unknown;
  /** False while the sink cannot take more: the sidecar then fails closed (503). */
  accepting(): boolean;
}

/** Records one decision and returns its id; `flush()` hands every line still pending to the stream. */
export interface DecisionLogger {
  (entry: Omit<DecisionLogEntry, 'decision_id' | 'timestamp'>): string;
  flush(): void;
}

/**
 * Every decision is a line, none is dropped; the lines of one turn of the event loop reach the
 * stream in one write, after the answers of that turn went out. Writing each line on the spot put
 * a file-system call (or, with stdout on a file or pipe, a synchronous write) on every decision's
 * path before its answer. The audit sink gets each entry at once (it batches by itself).
 */
export function createDecisionLogger(out: Writable | undefined, sink?: DecisionSink): DecisionLogger {
  let pending = '';
  let scheduled: NodeJS.Immediate | undefined;
  const writable = () => out !== undefined && !out.destroyed && out.writable;
  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    if (writable()) out!.write(text);
  };
  const log = (entry: Omit<DecisionLogEntry, 'decision_id' | 'timestamp'>): string => {
    const decisionId = randomUUID();
    const toFile = writable();
    if (toFile || sink) {
      const line: DecisionLogEntry = { decision_id: decisionId, timestamp: new Date().toISOString(), ...entry };
      if (toFile) {
        pending += `${JSON.stringify(line)}\n`;
        scheduled ??= setImmediate(flush);
      }
      sink?.record(line);
    }
    return decisionId;
  };
  return Object.assign(log, { flush });
}

function pick(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_LOGGED_PATH ? `${value.slice(0, MAX_LOGGED_PATH)}...` : value;
}
