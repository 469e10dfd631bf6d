import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FsObjectStore } from '@reelmesh/storage';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { programmeStep } from './agent-runtime';
import { validateAgentConfig } from './config';
import { createAgentApp } from './create-agent-app';
import { createLogger } from './logger';
import { manifestFor, startReceiver, type Receiver } from './testing';

// A programme step (one decision for the whole programme, e.g. one loudness gain) on the mini
// workflow: fx-1's demux analyses every chunk as it arrives, and renders each one only once all are
// analysed, with the summary of all of them. One job slot must not deadlock it.
const workflow = parseWorkflow(MINI);

describe('a programme step: analyse every chunk, then render each with the whole programme', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function start() {
    const dir = mkdtempSync(join(tmpdir(), 'programme-step-'));
    const owner: Receiver = await startReceiver(workflow, 'owner');
    cleanups.push(() => owner.close(), () => rmSync(dir, { recursive: true, force: true }));
    const events: string[] = [];
    const config = validateAgentConfig({ agent: 'fx-1', dataDir: dir, listen: '127.0.0.1:0', peers: { owner: owner.url }, concurrency: 1, logLevel: 'silent', maxChunkBytes: 1024 });
    const { app } = createAgentApp({
      config,
      deps: { workflow, store: new FsObjectStore(dir), logger: createLogger('fx-1', 'silent') },
      handlers: {
        demux: programmeStep<number>({
          async analyse({ chunkIndex, inputs }) {
            const bytes = (await text(await inputs.av())).length;
            events.push(`analyse ${chunkIndex}`);
            return bytes;
          },
          combine: (a, b) => a + b,
          async render({ chunkIndex, outputs }, total) {
            events.push(`render ${chunkIndex}`);
            outputs.picture.end(`chunk ${chunkIndex} of a programme of ${total} bytes`);
          },
        }),
      },
    });
    const send = (chunkIndex: number, body: string) => {
      const bytes = Buffer.from(body);
      return request(app)
        .post(`/v1/handoffs/${workflow.metadata.id}/demux/av/${chunkIndex}`)
        .field('manifest', JSON.stringify(manifestFor(workflow, 'demux', 'av', bytes, chunkIndex, 3)))
        .attach('chunk', bytes, { filename: 'chunk.mkv', contentType: 'video/x-matroska' });
    };
    return { app, owner, events, send };
  }

  it('renders nothing before the last chunk is analysed, then every chunk with the combined summary', async () => {
    const { app, owner, events, send } = await start();
    expect((await send(2, 'cc')).status).toBe(201);
    expect((await send(0, 'a')).status).toBe(201);
    await new Promise((r) => setTimeout(r, 300));
    expect(owner.received).toHaveLength(0);
    expect(events.every((e) => e.startsWith('analyse'))).toBe(true);
    expect((await send(1, 'bbbb')).status).toBe(201);
    const received = await owner.waitFor(3, 10_000);
    const bodies = await Promise.all(received.map((chunk) => owner.read(chunk).then(String)));
    expect(bodies.sort()).toEqual([0, 1, 2].map((i) => `chunk ${i} of a programme of 7 bytes`));
    expect(events.slice(0, 3).sort()).toEqual(['analyse 0', 'analyse 1', 'analyse 2']);
    expect(events.slice(3).sort()).toEqual(['render 0', 'render 1', 'render 2']);
    // A chunk counts as done once its receiver's acknowledgement is recorded, just after the answer.
    await vi.waitFor(async () => expect((await request(app).get('/v1/status')).body.progress).toMatchObject({ demux: 3, 'demux:analyse': 3 }), { timeout: 10_000 });
  });

  it('a chunk handed over twice is analysed once', async () => {
    const { owner, events, send } = await start();
    await send(0, 'a');
    await send(0, 'a');
    await send(1, 'bb');
    await send(2, 'ccc');
    await owner.waitFor(3, 10_000);
    expect(events.filter((e) => e === 'analyse 0')).toHaveLength(1);
    expect(String(await owner.read(owner.received[0]))).toMatch(/of a programme of 6 bytes$/);
  });
});
