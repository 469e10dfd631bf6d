import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error';

export interface BodyLimit {
  /** Largest body accepted, in bytes. */
  limit: number;
  /** What the body is, for the error message ("input", "bundle"). */
  what?: string;
}

/**
 * Collects a request body of at most `limit` bytes. Past it: 413 BODY_TOO_LARGE at once, and the
 * rest is discarded (the answer then closes the connection), so a large body never sits in memory.
 */
export function readBody(req: IncomingMessage, { limit, what = 'request' }: BodyLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      req.resume();
      return reject(tooLarge(what, limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      chunks.length = 0;
      reject(tooLarge(what, limit));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

const tooLarge = (what: string, limit: number) => new HttpError(413, 'BODY_TOO_LARGE', `${what} body is larger than ${limit} bytes`);

/**
 * A JSON object body of at most `limit` bytes; `undefined` for an empty body. Anything that is not
 * a JSON object is 400 BAD_JSON with what was wrong.
 */
export async function readJsonBody(req: IncomingMessage, options: BodyLimit): Promise<Record<string, unknown> | undefined> {
  const text = (await readBody(req, options)).toString('utf8');
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'BAD_JSON', `${options.what ?? 'request'} body is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'BAD_JSON', `${options.what ?? 'request'} body must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
