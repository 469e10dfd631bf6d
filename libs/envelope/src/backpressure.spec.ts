import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_FRAME_SIZE, openStream, sealStream } from './index';
import { CONTEXT, staticProvider } from './test-support';

const MiB = 1024 * 1024;

/**
 * A producer that would happily make 48 MiB and a consumer that yields to the event loop after
 * every 16 KiB. With backpressure working, the bytes in flight (produced - consumed) stay a few
 * frames' worth (each stage holds up to a frame) plus the producer's and consumer's buffers; if any
 * stage buffered regardless, they would grow towards the whole object.
 */
async function maxInFlight(stages: NodeJS.ReadWriteStream[]): Promise<{ maxInFlight: number; consumed: number }> {
  const total = 48 * MiB;
  const block = randomBytes(256 * 1024 + 11);
  let produced = 0;
  let consumed = 0;
  let max = 0;
  function* generate() {
    while (produced < total) {
      const piece = block.subarray(0, Math.min(block.length, total - produced));
      produced += piece.length;
      yield piece;
    }
  }
  const slow = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      max = Math.max(max, produced - consumed);
      const pieces = Math.ceil(chunk.length / (16 * 1024));
      let left = pieces;
      const step = () => {
        if (--left === 0) {
          consumed += chunk.length;
          callback();
        } else setImmediate(step);
      };
      setImmediate(step);
    },
  });
  await pipeline(Readable.from(generate(), { objectMode: false, highWaterMark: 64 * 1024 }), ...(stages as [NodeJS.ReadWriteStream]), slow);
  return { maxInFlight: max, consumed };
}

describe('backpressure', () => {
  const provider = staticProvider();

  for (const frameSize of [64 * 1024, DEFAULT_FRAME_SIZE]) {
    const label = `${frameSize / 1024} KiB frames`;

    it(`seal + open in a pipeline hold a bounded number of bytes with a slow consumer (${label})`, async () => {
      const { maxInFlight: inFlight, consumed } = await maxInFlight([sealStream({ context: CONTEXT, provider, frameSize }), openStream({ expectedContext: CONTEXT, provider })]);
      expect(consumed).toBe(48 * MiB);
      expect(inFlight).toBeLessThan(2 * MiB + 4 * frameSize);
    });

    it(`a seal stream alone holds a bounded number of bytes with a slow consumer (${label})`, async () => {
      const { maxInFlight: inFlight } = await maxInFlight([sealStream({ context: CONTEXT, provider, frameSize })]);
      expect(inFlight).toBeLessThan(1.5 * MiB + 3 * frameSize);
    });
  }
});

describe('memory per object', () => {
  const provider = staticProvider();

  /** The largest Buffer.allocUnsafe asked for while `run` runs. */
  async function largestAllocation(run: () => Promise<void>): Promise<number> {
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      await run();
      return Math.max(0, ...allocations.mock.calls.map(([size]) => size));
    } finally {
      allocations.mockRestore();
    }
  }

  /** Seals then opens `object`, fed in `pieces` writes each way: the largest allocation of each stream, and the opened bytes. */
  async function sealAndOpen(object: Buffer, pieces: number): Promise<{ sealing: number; opening: number; opened: Buffer }> {
    const split = (bytes: Buffer) => Array.from({ length: pieces }, (_, i) => bytes.subarray(Math.floor((i * bytes.length) / pieces), Math.floor(((i + 1) * bytes.length) / pieces)));
    const collect = (into: Buffer[]) => new Writable({ write: (c: Buffer, _e, cb) => (into.push(c), cb()) });
    const sealed: Buffer[] = [];
    const sealing = await largestAllocation(() => pipeline(Readable.from(split(object)), sealStream({ context: CONTEXT, provider }), collect(sealed)));
    const envelope = Buffer.concat(sealed);
    const opened: Buffer[] = [];
    const opening = await largestAllocation(() => pipeline(Readable.from(split(envelope)), openStream({ expectedContext: CONTEXT, provider }), collect(opened)));
    return { sealing, opening, opened: Buffer.concat(opened) };
  }

  it('a small object, written in several pieces, costs no frame-sized buffer to seal or open', async () => {
    // An audit entry or a manifest: a frame-sized (1 MiB) buffer each, outside V8's heap, set off
    // the collector in every process that seals many of them.
    const object = randomBytes(3000);
    const { sealing, opening, opened } = await sealAndOpen(object, 3);
    expect(opened.equals(object)).toBe(true);
    expect(sealing).toBeLessThan(16 * 1024);
    expect(opening).toBeLessThan(16 * 1024);
  });

  it('a large object still joins its frames in one frame-sized buffer', async () => {
    const object = randomBytes(2 * DEFAULT_FRAME_SIZE + 4321);
    const { sealing, opening, opened } = await sealAndOpen(object, 7);
    expect(opened.equals(object)).toBe(true);
    expect(sealing).toBe(DEFAULT_FRAME_SIZE);
    expect(opening).toBe(DEFAULT_FRAME_SIZE);
  });
});
