import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, validateAgentConfig } from '@reelmesh/agent-kit';
import { followEventStream } from '@reelmesh/http-kit';
import { FsObjectStore } from '@reelmesh/storage';
import { buildGraph, loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { createApp } from './app';

// The owner's agent, its steps and its next hops, as the workflow names them (contractors may come and go).
const workflow = loadWorkflow();
const graph = buildGraph(workflow);
const OWNER = ownerOf(workflow).agent;

describe('owner app', () => {
  let dir: string;
  let app: ReturnType<typeof createApp>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'owner-app-'));
    const config = validateAgentConfig({
      agent: OWNER,
      dataDir: join(dir, 'data'),
      listen: '127.0.0.1:0',
      peers: Object.fromEntries(graph.nextHops(OWNER).map((hop) => [hop, 'http://127.0.0.1:9'])),
      concurrency: 1,
      logLevel: 'silent',
      maxChunkBytes: 1024,
      exportDir: join(dir, 'out'),
      ingestDir: join(dir, 'in'),
    });
    app = createApp(config, { workflow, store: new FsObjectStore(config.dataDir), logger: createLogger(OWNER, 'silent') });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const errorOf = (res: request.Response) => res.body.error as { code: string; message: string };

  it('answers health and status', async () => {
    expect((await request(app.app).get('/health')).body).toEqual({ status: 'ok', agent: OWNER });
    const status = await request(app.app).get('/v1/status');
    expect(status.body).toMatchObject({ agent: OWNER, workflowId: workflow.metadata.id, active: 0, failures: [] });
    expect(Object.keys(status.body.steps).sort()).toEqual(graph.stepsOf(OWNER).map((s) => s.name).sort());
    expect((await request(app.app).get('/v1/runs/current')).body).toMatchObject({ state: 'idle' });
    // The run rides on the owner's status, so a watcher of its status stream hears the run end.
    expect(status.body.run).toEqual((await request(app.app).get('/v1/runs/current')).body);
  });

  it('streams its status (GET /v1/status/stream): the status with its run at once', async () => {
    const server = createServer(app.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const got: Array<{ event: string; data: { agent?: string; run?: { state?: string }; progress?: object } }> = [];
    const follower = followEventStream(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/v1/status/stream', { onMessage: (event, data) => got.push({ event, data: data as never }) });
    try {
      for (let i = 0; i < 300 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got[0]).toMatchObject({ event: 'status', data: { agent: OWNER, run: { state: 'idle' } } });
      expect(Object.keys(got[0].data.progress!).sort()).toEqual(graph.stepsOf(OWNER).map((s) => s.name).sort());
    } finally {
      follower.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('refuses a run without an input, with one outside the ingest folder, or that is not media', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'empty.mkv'), '');
    writeFileSync(join(dir, 'in', 'garbage.mkv'), Buffer.alloc(50_000, 7));
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'INPUT_REQUIRED'],
      [{ input: '../../etc/passwd' }, 400, 'UNSAFE_NAME'],
      [{ input: '/etc/passwd' }, 400, 'UNSAFE_NAME'],
      [{ input: 'missing.mkv' }, 422, 'MEDIA_NOT_FOUND'],
      [{ input: 'empty.mkv' }, 422, 'MEDIA_EMPTY'],
      [{ input: 'garbage.mkv' }, 422, 'MEDIA_UNREADABLE'],
    ];
    for (const [body, status, code] of cases) {
      const res = await request(app.app).post('/v1/runs').send(body as object);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(errorOf(res).code, JSON.stringify(res.body)).toBe(code);
      expect(errorOf(res).message.length).toBeGreaterThan(10);
    }
    // Nothing was split or stored, and the service is still up.
    expect(await readdir(join(dir, 'data')).catch(() => [])).toEqual([]);
    expect((await request(app.app).get('/health')).status).toBe(200);
    expect((await request(app.app).get('/v1/runs/current')).body.state).toBe('idle');
  });

  it('rejects a malformed JSON body with a JSON error', async () => {
    const res = await request(app.app).post('/v1/runs').set('content-type', 'application/json').send('{nope');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await request(app.app).get('/nowhere');
    expect(res.status).toBe(404);
    expect(errorOf(res)).toEqual({ code: 'NOT_FOUND', message: 'no route for GET /nowhere' });
  });

  it('does not accept handoffs for steps it does not run', async () => {
    // A step of another agent that receives a picture (picture-fx, with the shipped workflow).
    const other = workflow.edges.find((e) => e.artifact === 'picture' && graph.agentOf(e.to) !== OWNER)!;
    const res = await request(app.app)
      .post(`/v1/handoffs/${workflow.metadata.id}/${other.to}/picture/0`)
      .field('manifest', '{}')
      .attach('chunk', Buffer.from('x'), 'c.mkv');
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('UNKNOWN_STEP');
  });
});
