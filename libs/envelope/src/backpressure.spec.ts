import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
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
