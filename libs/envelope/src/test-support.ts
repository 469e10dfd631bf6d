// Helpers shared by this project's specs (not exported from index.ts).
import { randomBytes } from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'vitest';
import { StaticDataKeyProvider } from './data-key-provider';
import type { EncryptionContext } from './encryption-context';
import { EnvelopeError, type EnvelopeErrorCode } from './envelope-error';
import { openStream, type OpenOptions } from './open-stream';
import { sealStream, type SealOptions } from './seal-stream';

export const CONTEXT: EncryptionContext = { workflow: 'feature-film', step: 'demux', agent: 'vfx-1', object: 'feature-film/demux/av/00001.mkv' };

export function staticProvider(keyId = 'test-key'): StaticDataKeyProvider {
  return new StaticDataKeyProvider({ keyId, plaintextKey: randomBytes(32), wrappedKey: randomBytes(24) });
}

/** Feeds `chunks` through `transform` and returns everything it pushed. */
export async function runThrough(transform: Transform, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), transform, collector(out));
  return Buffer.concat(out);
}

export function collector(out: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
}

export function seal(plaintext: Buffer, options: Partial<SealOptions> & { provider: SealOptions['provider'] }, chunkSize = 7919): Promise<Buffer> {
  return runThrough(sealStream({ context: CONTEXT, ...options }), split(plaintext, chunkSize));
}

export function open(envelope: Buffer, options: Partial<OpenOptions>, chunkSize = 6007): Promise<Buffer> {
  return runThrough(openStream({ expectedContext: CONTEXT, ...options }), split(envelope, chunkSize));
}

export function split(buffer: Buffer, chunkSize: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += chunkSize) out.push(buffer.subarray(at, at + chunkSize));
  return out;
}

export async function expectEnvelopeError(promise: Promise<unknown>, code: EnvelopeErrorCode): Promise<EnvelopeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(EnvelopeError);
  expect((error as EnvelopeError).code).toBe(code);
  return error as EnvelopeError;
}
