import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { followEventStream, openEventStream, readEventStream, type EventStream, type EventStreamMessage } from './event-stream';

describe('event streams (SSE)', () => {
  it('reads messages as the spec splits them: event names, multi-line data, CRLF, comments and retry skipped', () => {
    const stream = new PassThrough();
    const got: EventStreamMessage[] = [];
    readEventStream(stream, (m) => got.push(m));
    stream.write('retry: 2000\n\n: ping\n\ndata: {"a":');
    stream.write('1}\n\nevent: entry\r\ndata: line one\r\ndata:line two\r\n\r\n');
    stream.write('event: only-a-name\n\n');
    expect(got).toEqual([
      { event: 'message', data: '{"a":1}' },
      { event: 'entry', data: 'line one\nline two' },
    ]);
  });

  it('writes what the reader reads, and ends a reader that stopped reading instead of buffering for it', async () => {
    let events: EventStream | undefined;
    let closed = false;
    const server = createServer((req, res) => {
      events = openEventStream(req, res, { maxBufferedBytes: 64 * 1024, retryMs: 1000, onClose: () => (closed = true) });
      events.send({ n: 1 }, 'hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const res = await new Promise<IncomingMessage>((resolve) => request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, resolve).end());
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const first = await new Promise<EventStreamMessage>((resolve) => readEventStream(res, resolve));
    expect(first).toEqual({ event: 'hello', data: '{"n":1}' });
    // The reader stops reading: the writer ends the stream once 64 KiB are waiting, not later.
    res.pause();
    const big = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 2_000 && !closed; i++) {
      events!.send({ big });
      await new Promise((r) => setImmediate(r));
    }
    await new Promise<void>((resolve) => (closed ? resolve() : res.socket?.once('close', () => resolve())));
    res.destroy();
    server.close();
    expect(closed).toBe(true);
  });
  it('a follower opens the stream again after the service dropped it or refused it, and stops for good once closed', async () => {
    let opened = 0;
    const tokens: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      opened++;
      tokens.push(req.headers['x-pod-token'] as string | undefined);
      // The second try finds the service not ready (a restarting agent): tried again later.
      if (opened === 2) return void res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: status\ndata: ${JSON.stringify({ n: opened })}\n\ndata: not json\n\n`);
      // The first stream is dropped as a restarting agent drops it; later ones stay open.
      if (opened === 1) setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const got: Array<[string, unknown]> = [];
    const follower = followEventStream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/', {
      retryMs: 20,
      headers: { 'x-pod-token': 't' },
      onMessage: (event, data) => got.push([event, data]),
    });
    for (let i = 0; i < 300 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    // Messages that are not JSON are skipped.
    expect(got).toEqual([
      ['status', { n: 1 }],
      ['status', { n: 3 }],
    ]);
    expect(tokens).toEqual(['t', 't', 't']);
    follower.close();
    await new Promise((r) => setTimeout(r, 150));
    expect(opened).toBe(3);
    server.closeAllConnections();
    server.close();
  });
});
