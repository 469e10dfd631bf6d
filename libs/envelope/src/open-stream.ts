import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue, JoinBuffer, joinInto, splitTail } from './byte-queue';
import { callProvider, type DataKeyProvider } from './data-key-provider';
import { assertEncryptionContext, canonicalContext, kmsContextOf, type EncryptionContext } from './encryption-context';
import { EnvelopeError } from './envelope-error';
import { FrameCipher, MAX_FRAMES } from './frame-cipher';
import { decodeHeader, FIXED_PREFIX_BYTES, headerLengthFromPrefix, TAG_BYTES, type ParsedHeader } from './header';
import { assertCommitment, deriveObjectKeys, headerDigest } from './key-schedule';

export interface OpenOptions {
  /** The context the object must have been sealed under; checked before KMS is asked. */
  expectedContext: EncryptionContext;
  /** Unwraps the header's data key. */
  provider?: DataKeyProvider;
  /** The plaintext data key, already unwrapped (copied; verified against the key commitment). */
  dataKey?: Buffer;
  /** Called once the header is authenticated by the key commitment. */
  onHeader?: (header: ParsedHeader) => void;
}

/**
 * Envelope in, plaintext out. Each frame is decrypted whole and its tag verified before any of
 * its plaintext is pushed; the stream errors with an EnvelopeError on any mismatch.
 */
export function openStream(options: OpenOptions): Transform {
  return new OpenTransform(options);
}

class OpenTransform extends Transform {
  private readonly expected: string;
  private readonly queue = new ByteQueue();
  private dataKey: Buffer | undefined;
  private headerLength = 0;
  private prefix = Buffer.alloc(0);
  private frames: FrameCipher | undefined;
  private frameSize = 0;
  private readonly joined = new JoinBuffer();
  private counter = 0;

  constructor(private readonly options: OpenOptions) {
    super({ writableHighWaterMark: 64 * 1024, readableHighWaterMark: 64 * 1024 });
    assertEncryptionContext(options.expectedContext);
    if (!options.provider === !options.dataKey) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', 'openStream needs exactly one of provider or dataKey');
    this.expected = canonicalContext(options.expectedContext);
    if (options.dataKey) this.dataKey = Buffer.from(options.dataKey);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.queue.push(chunk);
    if (this.frames) return callback(this.openFullFrames());
    this.tryStart().then(
      () => callback(this.frames ? this.openFullFrames() : null),
      (error) => callback(error),
    );
  }

  override _flush(callback: TransformCallback): void {
    if (!this.frames) return callback(new EnvelopeError('ENVELOPE_TRUNCATED', 'input ended inside the envelope header'));
    callback(this.openFinalFrame());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.dataKey?.fill(0);
    callback(error);
  }

  /** Once the whole header is buffered: parse, check context, get the key, verify commitment. */
  private async tryStart(): Promise<void> {
    if (this.headerLength === 0) {
      if (this.queue.length < FIXED_PREFIX_BYTES) return;
      const [prefix] = joinInto(this.queue.take(FIXED_PREFIX_BYTES), Buffer.alloc(FIXED_PREFIX_BYTES));
      this.headerLength = headerLengthFromPrefix(prefix);
      this.prefix = Buffer.from(prefix);
    }
    if (this.queue.length < this.headerLength - FIXED_PREFIX_BYTES) return;
    const rest = this.queue.take(this.headerLength - FIXED_PREFIX_BYTES);
    const header = decodeHeader(Buffer.concat([this.prefix, ...rest]));
    if (canonicalContext(header.context) !== this.expected) {
      throw new EnvelopeError('ENVELOPE_CONTEXT_MISMATCH', 'object was sealed under a different encryption context than expected');
    }
    let dataKey = this.dataKey;
    if (!dataKey) {
      const provider = this.options.provider!;
      dataKey = await callProvider('KMS Decrypt', () =>
        provider.unwrap({ keyId: header.keyId, wrappedKey: header.wrappedKey, context: kmsContextOf(header.context) }),
      );
    }
    try {
      const { frameKey, commitment } = deriveObjectKeys(dataKey, header.objectId, header.noncePrefix);
      assertCommitment(header.commitment, commitment);
      this.frameSize = header.frameSize;
      this.frames = new FrameCipher(frameKey, header.noncePrefix, headerDigest(header.bytes));
    } finally {
      dataKey.fill(0);
      this.dataKey = undefined;
    }
    this.options.onHeader?.(header);
  }

  /** Opens every frame known not to be the last (more bytes follow it). */
  private openFullFrames(): Error | null {
    const sealedFrame = this.frameSize + TAG_BYTES;
    while (this.queue.length > sealedFrame) {
      const error = this.openFrame(this.queue.take(sealedFrame), false);
      if (error) return error;
    }
    return null;
  }

  private openFinalFrame(): Error | null {
    const remaining = this.queue.takeAll();
    const length = remaining.reduce((n, piece) => n + piece.length, 0);
    if (length < TAG_BYTES) return new EnvelopeError('ENVELOPE_TRUNCATED', 'envelope ended without its final frame');
    const error = this.openFrame(remaining, true);
    if (error && length === this.frameSize + TAG_BYTES && this.frameAuthenticates(remaining, false)) {
      return new EnvelopeError('ENVELOPE_TRUNCATED', 'envelope ended without its final frame');
    }
    return error;
  }

  private openFrame(pieces: Buffer[], last: boolean): Error | null {
    if (this.counter >= MAX_FRAMES) return new EnvelopeError('ENVELOPE_TOO_LARGE', `object exceeds ${MAX_FRAMES} frames`);
    const { body, tail } = splitTail(pieces, TAG_BYTES);
    const plaintext = this.frames!.open(this.counter, last, this.joined.join(body), tail);
    if (!plaintext) {
      return new EnvelopeError('ENVELOPE_TAMPERED', `frame ${this.counter} failed authentication (altered, reordered, dropped or spliced data)`);
    }
    this.counter++;
    for (const piece of plaintext) this.push(piece);
    return null;
  }

  /** Diagnosis only: would this frame verify with the other last-flag? Its plaintext is discarded. */
  private frameAuthenticates(pieces: Buffer[], last: boolean): boolean {
    const { body, tail } = splitTail(pieces, TAG_BYTES);
    const plaintext = this.frames!.open(this.counter, last, this.joined.join(body), tail);
    for (const piece of plaintext ?? []) piece.fill(0);
    return plaintext !== null;
  }
}
