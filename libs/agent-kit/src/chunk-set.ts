import { MAX_CHUNKS } from '@reelmesh/handoff';

/**
 * Which chunks of each step are in some state (acknowledged, analysed), one bit per chunk: what
 * must be remembered for the whole run costs at most MAX_CHUNKS / 8 bytes (12.5 KB) per step, not
 * a string per chunk. The durable truth stays in the volume (job-state records): this is the
 * process's index of it.
 */
export class ChunkSet {
  readonly #bits = new Map<string, Uint8Array>();
  readonly #counts = new Map<string, number>();

  has(step: string, chunkIndex: number): boolean {
    const bits = this.#bits.get(step);
    return bits !== undefined && chunkIndex >> 3 < bits.length && (bits[chunkIndex >> 3] & (1 << (chunkIndex & 7))) !== 0;
  }

  add(step: string, chunkIndex: number): void {
    if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= MAX_CHUNKS) throw new RangeError(`chunk index ${chunkIndex} is outside 0..${MAX_CHUNKS - 1}`);
    let bits = this.#bits.get(step) ?? new Uint8Array(0);
    const byte = chunkIndex >> 3;
    if (byte >= bits.length) {
      // Grown by doubling (from 16 bytes), never past what MAX_CHUNKS needs.
      const grown = new Uint8Array(Math.min(Math.ceil(MAX_CHUNKS / 8), Math.max(16, bits.length * 2, byte + 1)));
      grown.set(bits);
      bits = grown;
    }
    this.#bits.set(step, bits);
    const mask = 1 << (chunkIndex & 7);
    if (bits[byte] & mask) return;
    bits[byte] |= mask;
    this.#counts.set(step, this.count(step) + 1);
  }

  /** How many chunks of `step` are in the set. */
  count(step: string): number {
    return this.#counts.get(step) ?? 0;
  }

  /** Bytes held for the bits (every step): what the bookkeeping bound is checked against. */
  get byteLength(): number {
    let n = 0;
    for (const bits of this.#bits.values()) n += bits.length;
    return n;
  }
}
