// After a crash (kill -9) the sidecar's in-memory queue for the ledger is gone, but its decision
// log file is not: the supervisor starts it again with the same flags, and it re-sends the
// decisions a previous run wrote there. It cannot know which of them reached the ledger, so it
// sends them all; the ledger keeps each decision_id once (docs/audit-log.md).
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** What the sidecar needs of the shipper: room for a backlog, and a queue to put decisions in. */
export interface BacklogSink {
  roomForBacklog(): Promise<void>;
  record(event: unknown): boolean;
}

/** The decision log a previous run left: how many bytes to re-send, and whether its last line was cut short. */
export interface PreviousLog {
  bytes: number;
  /** The last line has no newline (the process died mid-write): the next line must not be glued to it. */
  cutShort: boolean;
}

/** Looked at before this run appends anything, so only lines of previous runs are re-sent. */
export function previousLog(path: string): PreviousLog | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const bytes = fstatSync(fd).size;
    if (bytes === 0) return undefined;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, bytes - 1);
    return { bytes, cutShort: last[0] !== 0x0a };
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams the first `bytes` of the log line by line (never the whole file in memory) into the
 * shipper, waiting for room whenever the queue is half full. A line that is not a decision (cut
 * short by the crash) is reported and skipped. Stops early when `signal` aborts (the sidecar is
 * stopping; the next start re-sends again). Resolves with the counts.
 */
export async function reshipDecisionLog(
  path: string,
  previous: PreviousLog,
  sink: BacklogSink,
  options: { signal?: AbortSignal; onSkipped?: (lineNumber: number) => void } = {},
): Promise<{ resent: number; skipped: number }> {
  const input = createReadStream(path, { start: 0, end: previous.bytes - 1, encoding: 'utf8' });
  const onAbort = () => input.destroy();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let resent = 0;
  let skipped = 0;
  let lineNumber = 0;
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNumber += 1;
      if (line === '') continue;
      const decision = parseDecision(line);
      if (!decision) {
        skipped += 1;
        options.onSkipped?.(lineNumber);
        continue;
      }
      await sink.roomForBacklog();
      if (options.signal?.aborted) break;
      if (sink.record(decision)) resent += 1;
    }
  } catch (error) {
    if (!options.signal?.aborted) throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    input.destroy();
  }
  return { resent, skipped };
}

function parseDecision(line: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as { decision_id?: unknown }).decision_id === 'string') {
      return value as Record<string, unknown>;
    }
  } catch {
    // A line cut short by the crash.
  }
  return undefined;
}
