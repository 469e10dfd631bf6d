import type { IncomingMessage, ServerResponse } from 'node:http';
import { openEventStream, type EventStream } from '@reelmesh/http-kit';

/** What a status feed watches: a key that changes whenever a watcher should hear, and the body it then sends. */
export interface StatusView {
  key: string;
  body: () => unknown;
}

/** How often an open feed compares its view's key with the last one sent (in the process: no request, no log line). */
export const STATUS_CHECK_MS = 100;
/** A watcher this far behind is disconnected (it reconnects and gets the current status at once). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * An agent's status as a Server-Sent Events stream (GET /v1/status/stream): the status at once,
 * then again each time its key changes (a step finished a chunk, a failure, readiness, the owner's
 * run state). A watcher hears a change within STATUS_CHECK_MS instead of asking several times a
 * second: the CLI used to poll every agent 5 times a second, a request and a log line each.
 * While nobody watches, nothing runs.
 */
export class StatusFeed {
  readonly #streams = new Set<EventStream>();
  #timer: NodeJS.Timeout | undefined;
  #lastKey: string | undefined;

  constructor(
    private readonly view: () => StatusView,
    private readonly checkEveryMs = STATUS_CHECK_MS,
  ) {}

  /** Answer `res` with the stream; it lasts until the watcher or the server ends it. */
  open(req: IncomingMessage, res: ServerResponse): void {
    const stream: EventStream = openEventStream(req, res, {
      maxBufferedBytes: MAX_BUFFERED_BYTES,
      retryMs: 250,
      onClose: () => {
        this.#streams.delete(stream);
        if (this.#streams.size === 0) this.#stop();
      },
    });
    // A change not yet told goes to every watcher now, the newcomer with them; without one, the
    // newcomer alone gets the status as it stands (the others already have it).
    if (!this.#check(stream)) stream.send(this.view().body(), 'status');
    this.#streams.add(stream);
    this.#timer ??= setInterval(() => this.#check(), this.checkEveryMs);
    this.#timer.unref();
  }

  /** How many watchers are connected. */
  get watchers(): number {
    return this.#streams.size;
  }

  /** Tells every watcher (and `newcomer`) of a change since the last news; false if there was none. */
  #check(newcomer?: EventStream): boolean {
    const now = this.view();
    if (now.key === this.#lastKey) return false;
    this.#lastKey = now.key;
    const body = now.body();
    for (const stream of this.#streams) stream.send(body, 'status');
    newcomer?.send(body, 'status');
    return true;
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
