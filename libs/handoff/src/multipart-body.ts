import { randomBytes } from 'node:crypto';
import { padChunkIndex } from './chunk-key';
import type { HandoffManifest } from './manifest';

/** The fixed parts of a handoff body around the chunk bytes, and the exact total length. */
export interface MultipartFrame {
  contentType: string;
  head: Buffer;
  tail: Buffer;
  contentLength: number;
}

/**
 * Field `manifest` (JSON) then file `chunk`. Knowing the chunk's length up front gives an exact
 * Content-Length, so the body goes out without chunked encoding and proxies can check it.
 */
export function multipartFrame(manifest: HandoffManifest, chunkContentType = 'application/octet-stream'): MultipartFrame {
  const boundary = `reelmesh-${randomBytes(16).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\n` +
      'Content-Disposition: form-data; name="manifest"\r\n' +
      'Content-Type: application/json\r\n\r\n' +
      `${JSON.stringify(manifest)}\r\n` +
      `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="chunk"; filename="${padChunkIndex(manifest.chunkIndex)}.mkv"\r\n` +
      `Content-Type: ${chunkContentType}\r\n\r\n`,
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    head,
    tail,
    contentLength: head.length + manifest.byteLength + tail.length,
  };
}
