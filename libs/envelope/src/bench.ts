import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StaticDataKeyProvider } from './data-key-provider';
import { DEFAULT_FRAME_SIZE } from './header';
import { openStream } from './open-stream';
import { sealStream } from './seal-stream';

export interface EnvelopeBenchOptions {
  /** Plaintext bytes to push through each measurement. */
  bytes: number;
  frameSize?: number;
  /** Size of the chunks fed to the streams (default 1 MiB + 123 B: frames never line up with them). */
  chunkSize?: number;
  /** Rounds per measurement; the best is kept (default 3). */
  rounds?: number;
}

export interface EnvelopeBenchResult {
  bytes: number;
  frameSize: number;
  /** node:crypto AES-256-GCM, one cipher per frame, no streams: the ceiling. */
  rawSealMBps: number;
  rawOpenMBps: number;
  sealMBps: number;
  openMBps: number;
  /** sealMBps / rawSealMBps and openMBps / rawOpenMBps (target >= 0.5). */
  sealRatio: number;
  openRatio: number;
}

const MB = 1024 * 1024;
const CONTEXT = { workflow: 'bench', step: 'bench', agent: 'bench', object: 'bench' };

/**
 * Throughput of sealStream/openStream against raw AES-256-GCM with the same frame size, measured
 * in the same run. Memory stays bounded: input is slices of one 8 MiB random buffer, output is
 * discarded, and the open side replays one sealed sample of at most 64 MiB.
 */
export async function benchEnvelope(options: EnvelopeBenchOptions): Promise<EnvelopeBenchResult> {
  const frameSize = options.frameSize ?? DEFAULT_FRAME_SIZE;
  const chunkSize = options.chunkSize ?? MB + 123;
  const bytes = options.bytes;
  const rounds = options.rounds ?? 3;
  const source = randomBytes(8 * MB + chunkSize);
  const provider = new StaticDataKeyProvider({ keyId: 'bench', plaintextKey: randomBytes(32), wrappedKey: randomBytes(32) });
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = randomBytes(37);

  const rawSealLoop = (total: number) => {
    for (let done = 0; done < total; done += frameSize) {
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const start = done % (8 * MB);
      cipher.update(source.subarray(start, start + Math.min(frameSize, total - done)));
      cipher.final();
      cipher.getAuthTag();
    }
  };

  const sampleFrame = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  const sealedFrame = sampleFrame.update(source.subarray(0, frameSize));
  sampleFrame.final();
  const tag = sampleFrame.getAuthTag();
  const rawOpenLoop = (total: number) => {
    for (let done = 0; done < total; done += frameSize) {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      decipher.update(sealedFrame);
      decipher.final();
    }
  };

  const sealLoop = (total: number) => pipeline(slices(source, total, chunkSize), sealStream({ context: CONTEXT, provider, frameSize }), sink());

  const sampleBytes = Math.min(bytes, 64 * MB);
  const sealed: Buffer[] = [];
  await pipeline(slices(source, sampleBytes, chunkSize), sealStream({ context: CONTEXT, provider, frameSize }), sink(sealed));
  const sealedSample = Buffer.concat(sealed); // replayed in file-read-sized slices
  sealed.length = 0;
  const openLoop = async (total: number) => {
    for (let done = 0; done < total; done += sampleBytes) {
      await pipeline(slices(sealedSample, sealedSample.length, chunkSize, false), openStream({ expectedContext: CONTEXT, provider }), sink());
    }
  };
  const openedBytes = Math.ceil(bytes / sampleBytes) * sampleBytes;

  // Warm up every path, then interleave the measurements and keep each one's best round:
  // on a shared machine the noise is all on the slow side.
  const warm = Math.min(bytes, 32 * MB);
  rawSealLoop(warm);
  rawOpenLoop(warm);
  await sealLoop(warm);
  await openLoop(Math.min(warm, sampleBytes));
  const best = { rawSeal: Infinity, rawOpen: Infinity, seal: Infinity, open: Infinity };
  for (let round = 0; round < rounds; round++) {
    best.rawSeal = Math.min(best.rawSeal, time(() => rawSealLoop(bytes)));
    best.seal = Math.min(best.seal, await timeAsync(() => sealLoop(bytes)));
    best.rawOpen = Math.min(best.rawOpen, time(() => rawOpenLoop(bytes)));
    best.open = Math.min(best.open, await timeAsync(() => openLoop(bytes)));
  }
  const [rawSeal, rawOpen, seal, open] = [best.rawSeal, best.rawOpen, best.seal, best.open];

  const mbps = (n: number, ms: number) => n / MB / (ms / 1000);
  const result = {
    bytes,
    frameSize,
    rawSealMBps: mbps(bytes, rawSeal),
    rawOpenMBps: mbps(bytes, rawOpen),
    sealMBps: mbps(bytes, seal),
    openMBps: mbps(openedBytes, open),
  };
  return { ...result, sealRatio: result.sealMBps / result.rawSealMBps, openRatio: result.openMBps / result.rawOpenMBps };
}

function* slicesOf(source: Buffer, bytes: number, chunkSize: number, wrap: boolean): Generator<Buffer> {
  const window = wrap ? source.length - chunkSize : Infinity;
  for (let done = 0; done < bytes; done += chunkSize) {
    const start = done % window;
    yield source.subarray(start, start + Math.min(chunkSize, bytes - done));
  }
}

/** Input as slices of `source` (cycling through it when `wrap`), never copying it. */
function slices(source: Buffer, bytes: number, chunkSize: number, wrap = true): Readable {
  return Readable.from(slicesOf(source, bytes, chunkSize, wrap), { objectMode: false });
}

function sink(keep?: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      keep?.push(chunk);
      callback();
    },
  });
}

function time(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeAsync(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
