import type { ObjectContext, ObjectWriter } from '@reelmesh/storage';
import type { ChunkSlot } from './chunk-key';
import { HttpError } from '@reelmesh/http-kit';
import type { HandoffManifest } from './manifest';
import type { SlotRecord } from './slot-index';

/** What the storage engine found once the chunk part was read. */
export type UploadOutcome =
  | { kind: 'new'; manifest: HandoffManifest; writer: ObjectWriter; sha256: string; byteLength: number }
  | { kind: 'duplicate'; manifest: HandoffManifest; record: SlotRecord };

/**
 * Everything one handoff request holds: its slot, the slot lock and the open writer. settle()
 * gives both back exactly once, whichever path ends the request (success, error, disconnect),
 * and anything acquired after that is given back at once.
 */
export class UploadState {
  outcome?: UploadOutcome;
  /** Set while the chunk is being published: a disconnect must not abort a commit half-way. */
  committing = false;
  private writer?: ObjectWriter;
  private release?: () => void;
  private settled = false;
  private settling: Promise<void> | undefined;

  constructor(
    readonly slot: ChunkSlot,
    readonly key: string,
    readonly context: ObjectContext,
  ) {}

  get isSettled(): boolean {
    return this.settled;
  }

  /** Throw if the request already ended (e.g. the client went away while we waited). */
  assertOpen(): void {
    if (this.settled) throw new HttpError(400, 'CLIENT_ABORTED', 'the request ended before the chunk was received');
  }

  holdLock(release: () => void): void {
    this.release = release;
    if (this.settled) {
      release();
      this.assertOpen();
    }
  }

  async adoptWriter(writer: ObjectWriter): Promise<void> {
    this.writer = writer;
    if (this.settled) {
      await writer.abort();
      this.assertOpen();
    }
  }

  /** The writer was committed: nothing left to abort. */
  published(): void {
    this.writer = undefined;
  }

  /** Give back the lock and abort any unpublished writer. Every caller waits for the same cleanup. */
  settle(reason?: unknown): Promise<void> {
    this.settling ??= (async () => {
      this.settled = true;
      try {
        await this.writer?.abort(reason);
      } finally {
        this.writer = undefined;
        this.release?.();
      }
    })();
    return this.settling;
  }

}
