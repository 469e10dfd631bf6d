import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { HttpError } from '@reelmesh/http-kit';

/**
 * Hashes and counts the bytes on their way to the store, and stops the stream as soon as it
 * runs past the length the manifest promised (no point writing bytes we will throw away).
 */
export class ChunkMeter extends Transform {
  private readonly hash = createHash('sha256');
  byteLength = 0;

  constructor(private readonly expectedLength: number) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.byteLength += data.length;
    if (this.byteLength > this.expectedLength) {
      callback(new HttpError(422, 'LENGTH_MISMATCH', `chunk has more than the ${this.expectedLength} bytes the manifest declares`));
      return;
    }
    this.hash.update(data);
    callback(null, data);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
