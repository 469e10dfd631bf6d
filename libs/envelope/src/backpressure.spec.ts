import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { openStream, sealStream } from './index';
import { CONTEXT, staticProvider } from './test-support';

const MiB = 1024 * 1024;

/**
 * A producer that would happily make 48 MiB and a consumer that yields to the event loop after
 * every 16 KiB. With backpressure working, the bytes in flight (produced - consumed) stay a few
 * frames' worth; if any stage buffered regardless, they would grow towards the whole object.
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

  it('seal + open in a pipeline hold a bounded number of bytes with a slow consumer', async () => {
    const { maxInFlight: inFlight, consumed } = await maxInFlight([sealStream({ context: CONTEXT, provider }), openStream({ expectedContext: CONTEXT, provider })]);
    expect(consumed).toBe(48 * MiB);
    expect(inFlight).toBeLessThan(2 * MiB);
  });

  it('a seal stream alone holds a bounded number of bytes with a slow consumer', async () => {
    const { maxInFlight: inFlight } = await maxInFlight([sealStream({ context: CONTEXT, provider })]);
    expect(inFlight).toBeLessThan(1.5 * MiB);
  });
});
