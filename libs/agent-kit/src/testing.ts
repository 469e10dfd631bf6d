// Test helpers for agent apps (imported as @reelmesh/agent-kit/testing): real chunks made with
// ffmpeg, and a real receiving agent (the handoff router on its own HTTP server).
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import express from 'express';
import { buildManifest, createHandoffRouter, type ReceivedChunk } from '@reelmesh/handoff';
import { closeServer, jsonErrorHandler, listen } from '@reelmesh/http-kit';
import { demux, generateSample, hdr10, inspectMaster, splitChunk } from '@reelmesh/media';
import { FsObjectStore } from '@reelmesh/storage';
import { buildGraph, type Workflow } from '@reelmesh/workflow';
import { createHash } from 'node:crypto';

export interface TestChunks {
  av: Buffer;
  picture: Buffer;
  sound: Buffer;
}

/** One 2 s chunk at a small size (320x180, 25 fps, stereo), as the owner and vfx-1 would produce it. */
export async function makeChunks(workflow: Workflow): Promise<TestChunks> {
  const dir = mkdtempSync(join(tmpdir(), 'chunks-'));
  try {
    const master = join(dir, 'master.mkv');
    await generateSample({ durationSeconds: 2, outPath: master, width: 320, height: 180 });
    const { format } = await inspectMaster(master, workflow.media);
    const avOut = new PassThrough();
    const [, av] = await Promise.all([splitChunk(master, format, 0, workflow.media, avOut), buffer(avOut)]);
    const picture = new PassThrough();
    const sound = new PassThrough();
    const [, p, s] = await Promise.all([demux(() => bufferStream(av), { picture, sound }), buffer(picture), buffer(sound)]);
    return { av, picture: p, sound: s };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function bufferStream(b: Buffer): PassThrough {
  const s = new PassThrough();
  s.end(b);
  return s;
}

export interface Receiver {
  url: string;
  received: ReceivedChunk[];
  store: FsObjectStore;
  read(chunk: ReceivedChunk): Promise<Buffer>;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedChunk[]>;
  close(): Promise<void>;
}

/** A real next-hop agent: accepts every step/artifact of `agent` into a temp store. */
export async function startReceiver(workflow: Workflow, agent: string): Promise<Receiver> {
  const dir = mkdtempSync(join(tmpdir(), `receiver-${agent}-`));
  const store = new FsObjectStore(dir);
  const received: ReceivedChunk[] = [];
  const steps = new Set(workflow.steps.filter((s) => s.agent === agent).map((s) => s.name));
  const app = express();
  app.use(
    createHandoffRouter({
      workflowId: workflow.metadata.id,
      agent,
      store,
      accepts: (step: string) => steps.has(step),
      onReceived: (chunk) => void received.push(chunk),
    }),
  );
  app.use(jsonErrorHandler());
  const server: Server = createServer(app);
  const url = await listen(server, '127.0.0.1:0');
  return {
    url,
    received,
    store,
    read: (chunk) => readFile(store.pathOf(chunk.key)),
    async waitFor(count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver ${agent} got ${received.length}/${count} chunks`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received;
    },
    async close() {
      await closeServer(server, 0);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The manifest a previous hop would send for these bytes. */
export function manifestFor(workflow: Workflow, step: string, artifact: string, bytes: Buffer, chunkIndex = 0, chunkCount = 1) {
  const producer = workflow.edges.find((e) => e.to === step && e.artifact === artifact)!.from;
  return buildManifest({
    workflowId: workflow.metadata.id,
    step,
    artifact,
    chunkIndex,
    chunkCount,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    byteLength: bytes.length,
    media: { container: 'matroska' },
    producer: { agent: workflow.steps.find((s) => s.name === producer)!.agent, step: producer },
  });
}

export interface AppUnderTest {
  app: import('express').Express;
}

/**
 * Hand one chunk to an agent app (supertest, as the previous hop would) and collect what it
 * hands on to each next hop (real receivers). Returns the output bytes by destination agent.
 */
export async function runAppOnce(opts: {
  workflow: Workflow;
  agent: string;
  step: string;
  artifact: string;
  input: Buffer;
  createApp: (config: import('./config').AgentConfig, deps: import('./create-agent-app').AgentDeps) => AppUnderTest;
  configure?: (config: import('./config').AgentConfig) => void;
  /** Expect the job to fail: resolve with the app's recorded failures instead of outputs. */
  onFailure?: (failures: Array<{ step: string; message: string }>, health: number) => void;
}): Promise<Record<string, Buffer>> {
  const { default: request } = await import('supertest');
  const { createLogger } = await import('./logger');
  const { validateAgentConfig } = await import('./config');
  const graph = buildGraph(opts.workflow);
  const hops = graph.nextHops(opts.agent);
  const receivers = await Promise.all(hops.map((h) => startReceiver(opts.workflow, h)));
  const dir = mkdtempSync(join(tmpdir(), `app-${opts.agent}-`));
  try {
    const config = validateAgentConfig({
      agent: opts.agent,
      dataDir: dir,
      listen: '127.0.0.1:0',
      peers: Object.fromEntries(hops.map((h, i) => [h, receivers[i].url])),
      concurrency: 1,
      logLevel: 'silent',
      maxChunkBytes: 64 * 1024 * 1024,
    });
    opts.configure?.(config);
    const { app } = opts.createApp(config, { workflow: opts.workflow, store: new FsObjectStore(dir), logger: createLogger(opts.agent, 'silent') });
    const manifest = manifestFor(opts.workflow, opts.step, opts.artifact, opts.input);
    const res = await request(app)
      .post(`/v1/handoffs/${opts.workflow.metadata.id}/${opts.step}/${opts.artifact}/0`)
      .field('manifest', JSON.stringify(manifest))
      .attach('chunk', opts.input, { filename: 'chunk.mkv', contentType: 'video/x-matroska' });
    if (res.status !== 201) throw new Error(`handoff refused: ${res.status} ${JSON.stringify(res.body)}`);
    const out: Record<string, Buffer> = {};
    if (opts.onFailure) {
      for (let i = 0; i < 600; i++) {
        const status = await request(app).get('/v1/status');
        if (status.body.failures.length > 0) {
          opts.onFailure(status.body.failures, (await request(app).get('/health')).status);
          return out;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the job did not fail');
    }
    for (const [i, r] of receivers.entries()) {
      const [chunk] = await r.waitFor(1);
      out[hops[i]] = await r.read(chunk);
    }
    return out;
  } finally {
    await Promise.all(receivers.map((r) => r.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One chunk of `artifact` as it reaches `step` in `workflow` (a generated contractor's spec feeds
 * its app with it): makeChunks' chunk, re-encoded to HDR10 (HEVC Main 10, PQ, as the hdr10 job
 * hands it on) when the artifact passes a step running the hdr10 job on its way to `step`.
 */
export async function upstreamChunk(workflow: Workflow, step: string, artifact: string): Promise<Buffer> {
  const chunks = await makeChunks(workflow);
  if (!Object.hasOwn(chunks, artifact)) throw new Error(`no test chunk for artifact "${artifact}" (makeChunks makes ${Object.keys(chunks).join(', ')})`);
  const chunk = chunks[artifact as keyof TestChunks];
  const graph = buildGraph(workflow);
  const seen = new Set<string>();
  const passesHdr10 = (to: string): boolean =>
    graph
      .inputsOf(to)
      .filter((edge) => edge.artifact === artifact && !seen.has(edge.from) && seen.add(edge.from))
      .some((edge) => graph.step(edge.from)?.job === 'hdr10' || passesHdr10(edge.from));
  if (!passesHdr10(step)) return chunk;
  const out = new PassThrough();
  const [, hdr] = await Promise.all([hdr10(() => bufferStream(chunk), out, workflow.media), buffer(out)]);
  return hdr;
}

/**
 * runAppOnce, but when the app's job fails the promise rejects at once with the job's own message
 * (e.g. a filter that drops a 10-bit picture to 8 bits) instead of a receiver timing out later.
 */
export async function runAppOnceFailFast(opts: Parameters<typeof runAppOnce>[0]): Promise<Record<string, Buffer>> {
  const { default: request } = await import('supertest');
  let app: AppUnderTest['app'] | undefined;
  let settled = false;
  const run = runAppOnce({
    ...opts,
    createApp: (config, deps) => {
      const made = opts.createApp(config, deps);
      app = made.app;
      return made;
    },
  }).finally(() => {
    settled = true;
  });
  const failure = (async (): Promise<never> => {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (settled) return new Promise<never>(() => {});
      const failures = app ? ((await request(app).get('/v1/status')).body.failures as Array<{ step: string; message: string }> | undefined) : undefined;
      if (failures?.length) throw new Error(`step ${failures[0].step} failed: ${failures[0].message}`);
    }
  })();
  run.catch(() => {}); // when the failure wins, the receivers' later timeout is not news
  return Promise.race([run, failure]);
}
