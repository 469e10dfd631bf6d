// Child process of the envelope suite: seals then opens `bytes` of generated data through one
// streaming pipeline, output discarded, and prints its own peak RSS. Memory must not grow with size.
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StaticDataKeyProvider, openStream, sealStream } from '@reelmesh/envelope';

const bytes = Number(process.argv[2]);
if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`usage: envelope-rss-child <bytes>, got ${process.argv[2]}`);
const context = { workflow: 'bench', step: 'bench', agent: 'bench', object: 'rss' };
const provider = new StaticDataKeyProvider({ keyId: 'bench', plaintextKey: randomBytes(32), wrappedKey: randomBytes(32) });
const block = randomBytes(1024 * 1024);

function* blocks(): Generator<Buffer> {
  for (let left = bytes; left > 0; left -= block.length) yield left >= block.length ? block : block.subarray(0, left);
}

let opened = 0;
await pipeline(
  Readable.from(blocks(), { objectMode: false }),
  sealStream({ context, provider }),
  openStream({ expectedContext: context, provider }),
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      opened += chunk.length;
      done();
    },
  }),
);
if (opened !== bytes) throw new Error(`opened ${opened} bytes of ${bytes}`);
// resourceUsage().maxRSS is in kilobytes.
process.stdout.write(`${JSON.stringify({ bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
