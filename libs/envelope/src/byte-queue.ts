/**
 * A FIFO of Buffers that hands out byte ranges as zero-copy slices, so frames can be cut from
 * arbitrarily sized stream chunks without concatenating every chunk.
 */
export class ByteQueue {
  private pieces: Buffer[] = [];
  private head = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pieces.push(chunk);
    this.length += chunk.length;
  }

  /** Removes exactly `n` bytes (n <= length) and returns them as slices of the queued chunks. */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    let remaining = n;
    while (remaining > 0) {
      const first = this.pieces[this.head];
      if (first.length <= remaining) {
        out.push(first);
        this.pieces[this.head++] = EMPTY;
        remaining -= first.length;
      } else {
        out.push(first.subarray(0, remaining));
        this.pieces[this.head] = first.subarray(remaining);
        remaining = 0;
      }
    }
    this.length -= n;
    if (this.head > 64 && this.head * 2 > this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  takeAll(): Buffer[] {
    return this.take(this.length);
  }
}

const EMPTY = Buffer.alloc(0);

/** Copies `pieces` into `scratch` when there is more than one, so the cipher sees one call. */
export function joinInto(pieces: Buffer[], scratch: Buffer): Buffer[] {
  if (pieces.length <= 1) return pieces;
  let at = 0;
  for (const piece of pieces) at += piece.copy(scratch, at);
  return [scratch.subarray(0, at)];
}

/**
 * The buffer a stream joins a frame's pieces into, reused frame after frame. It is allocated at
 * the first frame that needs it, as large as that frame: a small object (an audit entry, a
 * manifest) sealed or opened in one piece costs none, and in several pieces only its own size,
 * not a frame-sized (1 MiB) buffer outside V8's heap, which counts towards its next full
 * collection (docs/benchmarks.md).
 */
export class JoinBuffer {
  #buffer: Buffer | undefined;

  join(pieces: Buffer[]): Buffer[] {
    if (pieces.length <= 1) return pieces;
    let bytes = 0;
    for (const piece of pieces) bytes += piece.length;
    if (!this.#buffer || this.#buffer.length < bytes) this.#buffer = Buffer.allocUnsafe(bytes);
    return joinInto(pieces, this.#buffer);
  }
}

/** The last `n` bytes of `pieces` as one Buffer, and the pieces before them. */
export function splitTail(pieces: Buffer[], n: number): { body: Buffer[]; tail: Buffer } {
  const tail = Buffer.allocUnsafe(n);
  let need = n;
  const body = pieces.slice();
  while (need > 0) {
    const last = body.pop()!;
    if (last.length <= need) {
      last.copy(tail, need - last.length);
      need -= last.length;
    } else {
      last.copy(tail, 0, last.length - need);
      body.push(last.subarray(0, last.length - need));
      need = 0;
    }
  }
  return { body, tail };
}
