import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** sha256 and length of a stream, for building a manifest without holding the bytes. */
export async function digestStream(stream: Readable): Promise<{ sha256: string; byteLength: number }> {
  const hash = createHash('sha256');
  let byteLength = 0;
  for await (const part of stream) {
    const buffer = Buffer.isBuffer(part) ? part : Buffer.from(part as string);
    hash.update(buffer);
    byteLength += buffer.length;
  }
  return { sha256: hash.digest('hex'), byteLength };
}
