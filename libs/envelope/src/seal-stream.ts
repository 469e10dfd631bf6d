import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ByteQueue, JoinBuffer } from './byte-queue';
import { callProvider, type DataKey, type DataKeyProvider } from './data-key-provider';
import { assertEncryptionContext, kmsContextOf, type EncryptionContext } from './encryption-context';
import { EnvelopeError } from './envelope-error';
import { FrameCipher, MAX_FRAMES } from './frame-cipher';
import { assertFrameSize, DEFAULT_FRAME_SIZE, encodeHeader, NONCE_PREFIX_BYTES, OBJECT_ID_BYTES } from './header';
import { deriveObjectKeys, headerDigest } from './key-schedule';

export interface SealOptions {
  /** Stored in the header and authenticated; all but `object` is sent to KMS. */
  context: EncryptionContext;
  /** Asked for a data key on the first write (or at end, for an empty object). */
  provider?: DataKeyProvider;
  /** A data key fetched beforehand (copied; the caller may zero its buffer after the call). */
  dataKey?: DataKey;
  /** Plaintext bytes per frame (default 1 MiB: DEFAULT_FRAME_SIZE). */
  frameSize?: number;
  /** Fixed values for test vectors only; random by default (they must never repeat). */
  objectId?: Buffer;
  noncePrefix?: Buffer;
}

interface Sealer {
  header: Buffer;
  frames: FrameCipher;
  countBytes?: (bytes: number) => void;
}

/** Plaintext in, envelope out (header, then AES-256-GCM frames). See docs/envelope-format.md. */
export function sealStream(options: SealOptions): Transform {
  return new SealTransform(options);
}

class SealTransform extends Transform {
  private readonly context: EncryptionContext;
  private readonly frameSize: number;
  private readonly objectId: Buffer;
  private readonly noncePrefix: Buffer;
  private readonly pending = new ByteQueue();
  private readonly joined = new JoinBuffer();
  private sealer: Sealer | undefined;
  private headerSent = false;
  private counter = 0;

  constructor(private readonly options: SealOptions) {
    const frameSize = options.frameSize ?? DEFAULT_FRAME_SIZE;
    assertFrameSize(frameSize);
    super({ writableHighWaterMark: frameSize, readableHighWaterMark: frameSize + 16 });
    assertEncryptionContext(options.context);
    if (!options.provider === !options.dataKey) throw new EnvelopeError('ENVELOPE_BAD_OPTIONS', 'sealStream needs exactly one of provider or dataKey');
    this.context = { ...options.context };
    this.frameSize = frameSize;
    this.objectId = options.objectId ?? randomBytes(OBJECT_ID_BYTES);
    this.noncePrefix = options.noncePrefix ?? randomBytes(NONCE_PREFIX_BYTES);
    if (options.dataKey) this.sealer = this.makeSealer(options.dataKey);
  }

  private makeSealer(dataKey: DataKey): Sealer {
    const { frameKey, commitment } = deriveObjectKeys(dataKey.plaintextKey, this.objectId, this.noncePrefix);
    const header = encodeHeader({
      frameSize: this.frameSize,
      noncePrefix: this.noncePrefix,
      objectId: this.objectId,
      keyId: dataKey.keyId,
      context: this.context,
      wrappedKey: dataKey.wrappedKey,
      commitment,
    });
    return { header, frames: new FrameCipher(frameKey, this.noncePrefix, headerDigest(header)), countBytes: dataKey.countBytes };
  }

  private async ready(): Promise<Sealer> {
    if (!this.sealer) {
      const provider = this.options.provider!;
      const dataKey = await callProvider('KMS GenerateDataKey', () => provider.generate(kmsContextOf(this.context)));
      try {
        this.sealer = this.makeSealer(dataKey);
      } finally {
        dataKey.plaintextKey.fill(0); // we own the provider's copy; the derived KeyObject is all we keep
      }
    }
    if (!this.headerSent) {
      this.headerSent = true;
      this.push(this.sealer.header);
    }
    return this.sealer;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.sealer && this.headerSent) return callback(this.accept(this.sealer, chunk));
    this.ready().then(
      (sealer) => callback(this.accept(sealer, chunk)),
      (error) => callback(error),
    );
  }

  override _flush(callback: TransformCallback): void {
    this.ready().then(
      (sealer) => callback(this.sealFrame(sealer, this.pending.takeAll(), true)),
      (error) => callback(error),
    );
  }

  /** Seals every frame known not to be the last (more bytes follow it). */
  private accept(sealer: Sealer, chunk: Buffer): Error | null {
    this.pending.push(chunk);
    while (this.pending.length > this.frameSize) {
      const error = this.sealFrame(sealer, this.pending.take(this.frameSize), false);
      if (error) return error;
    }
    return null;
  }

  private sealFrame(sealer: Sealer, pieces: Buffer[], last: boolean): Error | null {
    if (this.counter >= MAX_FRAMES) return new EnvelopeError('ENVELOPE_TOO_LARGE', `object exceeds ${MAX_FRAMES} frames`);
    let bytes = 0;
    for (const piece of pieces) bytes += piece.length;
    for (const out of sealer.frames.seal(this.counter++, last, this.joined.join(pieces))) this.push(out);
    sealer.countBytes?.(bytes);
    return null;
  }
}
