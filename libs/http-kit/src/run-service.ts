import { errorLine, readyLine } from './service-line';

export interface StartedService {
  /** Endpoint URLs by role, as bound (reported in the ready line). */
  endpoints: Record<string, string>;
  details?: Record<string, unknown>;
  /** Graceful stop: finish or hand back in-flight work, flush logs. */
  stop(reason: string): Promise<void>;
}

/**
 * The main() of every ReelMesh process: start, print the ready line (or the error line and exit
 * 1), and on SIGTERM/SIGINT (or its parent's death) stop gracefully, then exit. A stop that hangs past `stopTimeoutMs`
 * exits 1, so an orchestrator never waits forever.
 */
export function runService(service: string, start: () => Promise<StartedService>, options: { stopTimeoutMs?: number } = {}): void {
  const stopTimeoutMs = options.stopTimeoutMs ?? 120_000;
  let running: StartedService | undefined;
  let stopRequested: string | undefined;
  let stopping = false;

  const stop = (reason: string) => {
    stopRequested = reason;
    if (!running || stopping) return;
    stopping = true;
    setTimeout(() => fail({ code: 'STOP_TIMEOUT', message: `did not stop within ${stopTimeoutMs} ms` }), stopTimeoutMs).unref();
    running.stop(reason).then(() => exit(0), fail);
  };
  const fail = (error: unknown) => {
    process.stderr.write(`${errorLine(service, error)}\n`);
    exit(1);
  };
  // Orphaned (the parent that read our stdout is gone), exit handlers that flush a logger to stdout
  // can wait on that dead stream for ever: the work is done, so leave without them.
  const exit = (code: number) => (orphaned ? process.kill(process.pid, 'SIGKILL') : process.exit(code));
  let orphaned = false;
  // Handlers go in first: a signal that arrives while starting (or right after the ready line)
  // must stop the service gracefully, not kill it with the default action.
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // Started by a parent with an IPC channel (the local runtime): when the parent dies, the channel
  // closes and the service stops as if told to, so a killed CLI leaves no orphans. The channel
  // itself must not keep a finished service alive.
  // Started with a channel that is already closed: the parent died while this process was still
  // loading its code, before anyone listened for 'disconnect'. Nobody will read the ready line.
  if (typeof process.send === 'function' && !process.connected) {
    orphaned = true;
    exit(0);
    return;
  }
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => {
      orphaned = true;
      // Still starting (maybe waiting for a control plane that went with the parent): nothing was
      // accepted before the ready line and nobody waits for it, so leave now rather than finish a
      // start only to stop.
      if (!running) {
        exit(0);
        return;
      }
      stop('parent gone');
    });
  }

  start().then((started) => {
    running = started;
    process.stdout.write(`${readyLine(service, started.endpoints, started.details)}\n`);
    if (stopRequested) stop(stopRequested);
  }, fail);
}

/** A service's configuration is wrong (a flag, an env var): it stops at start-up with this code. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}
