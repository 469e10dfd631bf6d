// The check socket: the pod-local protocol a proxy sidecar asks its policy sidecar on, beside
// OPA's REST API (which stays, for the control plane's pushes and for anything written for OPA).
// Over node:http most of a decision's cost was the HTTP server's and client's own JavaScript per
// request, run cold: a pod's sidecar answers too few requests for V8 to optimise that path
// (docs/benchmarks.md, "the check socket").
//
// A frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON (docs/policy.md):
//   ask     {"id": <integer>, "input": <the OPA input document>}
//   answer  {"id": <integer>, "decision_id": "<uuid>", "result": {"allowed": <bool>, "reason": "..."}}
//   refusal {"id": <integer | null>, "error": {"code": "<UPPER_SNAKE>", "message": "..."}}
// Answers carry the id they answer, so a client can give up on one and ignore its late answer. A
// frame past the size cap or one that is not a JSON object with an integer id is answered with
// an id-less refusal and the connection is closed: the client fails every check on it closed.
import { createServer, type Server, type Socket } from 'node:net';

/** Same cap as the REST API's input body. */
export const MAX_CHECK_FRAME_BYTES = 1024 * 1024;
const HEADER_BYTES = 4;

export type CheckAnswer = { decision_id: string; result: { allowed: boolean; reason: string } };
export type CheckRefusal = { code: string; message: string };

export class CheckFrameError extends Error {
  readonly code = 'INVALID_FRAME';
}

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/**
 * Splits a byte stream into frame bodies. Holds at most one partial frame (bounded by the cap). A
 * length past the cap ends the stream: the frames before it are returned, `error` says why, and
 * nothing of that frame or after it is kept.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** Set once a frame header announced more than the cap; the stream is unusable from there. */
  error: CheckFrameError | undefined;

  constructor(private readonly maxBytes = MAX_CHECK_FRAME_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    if (this.error) return [];
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (data.length >= HEADER_BYTES) {
      const length = data.readUInt32BE(0);
      if (length > this.maxBytes) {
        this.error = new CheckFrameError(`frame of ${length} bytes is over the ${this.maxBytes}-byte cap`);
        this.pending = Buffer.alloc(0);
        return frames;
      }
      if (data.length < HEADER_BYTES + length) break;
      frames.push(data.subarray(HEADER_BYTES, HEADER_BYTES + length));
      data = data.subarray(HEADER_BYTES + length);
    }
    // A copy, so a kept remainder does not pin the whole socket read it came in.
    this.pending = data.length === 0 ? Buffer.alloc(0) : Buffer.from(data);
    return frames;
  }

  /** Bytes of a frame begun but not finished (a connection closing with some is cut short). */
  get buffered(): number {
    return this.pending.length;
  }
}

/** The one decision a check asks for; throws `{code, message}`-shaped errors it cannot answer. */
export type DecideCheck = (input: unknown) => CheckAnswer;

/** What an unexpected failure becomes on the wire: a fixed message, internals never leak. */
const INTERNAL: CheckRefusal = { code: 'INTERNAL_ERROR', message: 'policy evaluation failed' };

export interface CheckServer {
  /** Not yet listening: bind it (http-kit's listen). */
  server: Server;
  /** Stops accepting and closes every connection (they are persistent; none holds a check between turns). */
  close(): Promise<void>;
}

/**
 * A check-socket server over `decide`. Frames are answered in order, each in the turn it
 * arrived; `decide` runs synchronously, so nothing is held between turns but a partial frame.
 */
export function createCheckServer(decide: DecideCheck): CheckServer {
  const sockets = new Set<Socket>();
  const server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const decoder = new FrameDecoder();
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      const answers: Buffer[] = [];
      let refusal: CheckRefusal | undefined;
      for (const frame of decoder.push(chunk)) {
        const ask = parseAsk(frame);
        if ('refusal' in ask) {
          refusal = ask.refusal;
          break;
        }
        answers.push(encodeFrame(answer(decide, ask.id, ask.input)));
      }
      if (!refusal && decoder.error) refusal = { code: 'INVALID_FRAME', message: decoder.error.message };
      // The answers of one read go out in one write, a refusal (id-less, closing) after them.
      if (refusal) answers.push(encodeFrame({ id: null, error: refusal }));
      if (answers.length > 0) {
        const out = answers.length === 1 ? answers[0] : Buffer.concat(answers);
        if (refusal) closeAfter(socket, out);
        else socket.write(out);
      }
    });
  });
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  return { server, close };
}

function answer(decide: DecideCheck, id: number, input: unknown): Record<string, unknown> {
  try {
    return { id, ...decide(input) };
  } catch (error) {
    const known = error as Partial<CheckRefusal> & { expose?: boolean };
    // Only refusals meant for the caller (fail-closed states such as the audit ledger being away) keep their words.
    const refusal = known.expose && typeof known.code === 'string' && typeof known.message === 'string' ? { code: known.code, message: known.message } : INTERNAL;
    return { id, error: refusal };
  }
}

function parseAsk(frame: Buffer): { id: number; input: unknown } | { refusal: CheckRefusal } {
  let message: unknown;
  try {
    message = JSON.parse(frame.toString('utf8'));
  } catch (error) {
    return { refusal: { code: 'INVALID_FRAME', message: `frame is not JSON: ${(error as Error).message}` } };
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return { refusal: { code: 'INVALID_FRAME', message: 'frame must be a JSON object' } };
  const { id, input } = message as { id?: unknown; input?: unknown };
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return { refusal: { code: 'INVALID_FRAME', message: 'frame needs a non-negative integer "id"' } };
  return { id, input };
}

function closeAfter(socket: Socket, last: Buffer): void {
  socket.end(last);
  // Whatever else arrives on this connection is not read.
  socket.removeAllListeners('data');
  socket.resume();
}
