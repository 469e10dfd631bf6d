import type { Readable } from 'node:stream';
import { EnvelopeError } from './envelope-error';
import { decodeHeader, FIXED_PREFIX_BYTES, headerLengthFromPrefix, type ParsedHeader } from './header';

/**
 * Parses an envelope header without any key. From a Buffer: the header at its start. From a
 * Readable: reads just enough, then unshifts every byte it read, so the stream can still be
 * piped into openStream. The header is NOT authenticated until openStream checks it.
 */
export function readHeader(source: Buffer): ParsedHeader;
export function readHeader(source: Readable): Promise<ParsedHeader>;
export function readHeader(source: Buffer | Readable): ParsedHeader | Promise<ParsedHeader> {
  if (Buffer.isBuffer(source)) return decodeHeader(source);
  return peekHeader(source);
}

function peekHeader(stream: Readable): Promise<ParsedHeader> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    let total = 0;
    let needed = FIXED_PREFIX_BYTES;
    const finish = (error: unknown, header?: ParsedHeader, restore = true) => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      if (restore && total > 0) stream.unshift(Buffer.concat(pieces, total));
      if (error) reject(error);
      else resolve(header!);
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = stream.read()) !== null) {
        pieces.push(chunk);
        total += chunk.length;
        try {
          if (needed === FIXED_PREFIX_BYTES && total >= FIXED_PREFIX_BYTES) needed = headerLengthFromPrefix(Buffer.concat(pieces, total));
          if (total >= needed) return finish(null, decodeHeader(Buffer.concat(pieces, total)));
        } catch (error) {
          return finish(error);
        }
      }
    };
    const onEnd = () => finish(new EnvelopeError('ENVELOPE_TRUNCATED', 'input ended inside the envelope header'), undefined, false);
    const onError = (error: Error) => finish(error, undefined, false);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}
