import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '@reelmesh/http-kit';
import { CheckFrameError, createCheckServer, encodeFrame, FrameDecoder, MAX_CHECK_FRAME_BYTES, type CheckServer, type DecideCheck } from './check-protocol';

const frameOf = (value: unknown) => encodeFrame(value);
const bodies = (frames: Buffer[]) => frames.map((f) => JSON.parse(f.toString('utf8')) as unknown);

describe('check-socket frames', () => {
  it('a frame is a 4-byte big-endian length and that much UTF-8 JSON', () => {
    const frame = frameOf({ id: 7, input: { path: '/é' } });
    const body = Buffer.from(JSON.stringify({ id: 7, input: { path: '/é' } }), 'utf8');
    expect(frame.readUInt32BE(0)).toBe(body.length);
    expect(frame.subarray(4).equals(body)).toBe(true);
  });

  it('reassembles frames however the stream cuts them: byte by byte, several in one read', () => {
    const messages = [{ id: 1 }, { id: 2, input: { a: 'x'.repeat(70_000) } }, { id: 3, input: null }];
    const stream = Buffer.concat(messages.map(frameOf));
    const oneByOne = new FrameDecoder();
    const seen: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) seen.push(...oneByOne.push(stream.subarray(i, i + 1)));
    expect(bodies(seen)).toEqual(messages);
    expect(oneByOne.buffered).toBe(0);
    expect(bodies(new FrameDecoder().push(stream))).toEqual(messages);
    // A read ending inside a frame keeps just that part.
    const split = new FrameDecoder();
    expect(bodies(split.push(stream.subarray(0, stream.length - 3)))).toEqual(messages.slice(0, 2));
    expect(split.buffered).toBe(frameOf(messages[2]).length - 3);
    expect(bodies(split.push(stream.subarray(stream.length - 3)))).toEqual(messages.slice(2));
  });

  it('refuses a length past the cap from its header alone, before buffering the body', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX_CHECK_FRAME_BYTES + 1, 0);
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.concat([frameOf({ id: 1 }), header, Buffer.alloc(100)]))).toHaveLength(1);
    expect(decoder.error).toBeInstanceOf(CheckFrameError);
    expect(decoder.buffered).toBe(0);
    // The stream is over: later bytes give nothing.
    expect(decoder.push(frameOf({ id: 2 }))).toEqual([]);
    const small = new FrameDecoder(10);
    expect(small.push(frameOf({ id: 1, input: 'more than ten bytes' }))).toEqual([]);
    expect(small.error?.message).toMatch(/over the 10-byte cap/);
  });
});

describe('check-socket server', () => {
  let dir: string;
  let checks: CheckServer | undefined;
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await checks?.close();
    checks = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(decide: DecideCheck) {
    dir = mkdtempSync(join(tmpdir(), 'rm-check-'));
    checks = createCheckServer(decide);
    const url = await listen(checks.server, `unix:${join(dir, 'check.sock')}`);
    const socket = connect(url.slice('unix:'.length));
    clients.push(socket);
    await once(socket, 'connect');
    const decoder = new FrameDecoder();
    const answers: unknown[] = [];
    socket.on('data', (chunk: Buffer) => answers.push(...bodies(decoder.push(chunk))));
    const waitFor = async (n: number) => {
      while (answers.length < n && !socket.destroyed) await new Promise((r) => setTimeout(r, 5));
      return answers;
    };
    return { socket, answers, waitFor };
  }

  const echoDecide: DecideCheck = (input) => {
    const allowed = (input as { who?: string } | undefined)?.who === 'owner';
    return { decision_id: `d-${String((input as { who?: string } | undefined)?.who)}`, result: { allowed, reason: allowed ? 'allowed' : 'edge_forbidden' } };
  };

  it('answers each ask with its id, in order, asks pipelined in one write', async () => {
    const { socket, waitFor } = await start(echoDecide);
    socket.write(Buffer.concat([frameOf({ id: 5, input: { who: 'owner' } }), frameOf({ id: 9, input: { who: 'sound' } }), frameOf({ id: 0 })]));
    expect(await waitFor(3)).toEqual([
      { id: 5, decision_id: 'd-owner', result: { allowed: true, reason: 'allowed' } },
      { id: 9, decision_id: 'd-sound', result: { allowed: false, reason: 'edge_forbidden' } },
      { id: 0, decision_id: 'd-undefined', result: { allowed: false, reason: 'edge_forbidden' } },
    ]);
    expect(socket.destroyed).toBe(false);
  });

  it("keeps a refusal meant for the caller (an exposed error's code and words), hides anything else", async () => {
    const { socket, waitFor } = await start((input) => {
      if ((input as { ledger?: boolean }).ledger) throw Object.assign(new Error('the ledger is away'), { code: 'AUDIT_UNAVAILABLE', expose: true });
      throw new Error('secret internals /etc/x');
    });
    socket.write(Buffer.concat([frameOf({ id: 1, input: { ledger: true } }), frameOf({ id: 2, input: {} })]));
    expect(await waitFor(2)).toEqual([
      { id: 1, error: { code: 'AUDIT_UNAVAILABLE', message: 'the ledger is away' } },
      { id: 2, error: { code: 'INTERNAL_ERROR', message: 'policy evaluation failed' } },
    ]);
  });

  it.each([
    ['not JSON', Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]), /not JSON/],
    ['not an object', frameOf([1, 2]), /JSON object/],
    ['no integer id', frameOf({ id: '1', input: {} }), /integer "id"/],
    ['a negative id', frameOf({ id: -1, input: {} }), /integer "id"/],
    ['a length past the cap', Buffer.from([0xff, 0xff, 0xff, 0xff]), /cap/],
  ])('a frame with %s gets an id-less refusal and the connection closes; asks before it are answered', async (_what, bad, message) => {
    let decided = 0;
    const { socket, waitFor } = await start((input) => {
      decided++;
      return echoDecide(input);
    });
    const closed = once(socket, 'close');
    socket.write(Buffer.concat([frameOf({ id: 1, input: { who: 'owner' } }), bad, frameOf({ id: 2, input: { who: 'owner' } })]));
    await closed;
    const answers = await waitFor(2);
    expect(answers[0]).toMatchObject({ id: 1, result: { allowed: true } });
    expect(answers[1]).toMatchObject({ id: null, error: { code: 'INVALID_FRAME', message: expect.stringMatching(message) } });
    // Nothing after the bad frame was decided.
    expect(answers).toHaveLength(2);
    expect(decided).toBe(1);
  });

  it('close() ends the persistent connections and stops listening', async () => {
    const { socket } = await start(echoDecide);
    const closed = once(socket, 'close');
    await checks!.close();
    await closed;
    expect(checks!.server.listening).toBe(false);
  });
});
