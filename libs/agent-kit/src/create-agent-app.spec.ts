import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '@reelmesh/storage';
import { loadWorkflow } from '@reelmesh/workflow';
import { POD_TOKEN_HEADER, validateAgentConfig, type AgentConfig } from './config';
import { createAgentApp } from './create-agent-app';
import { createLogger } from './logger';

const workflow = loadWorkflow();

describe('createAgentApp', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  function build(extra: Partial<AgentConfig> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'agent-app-'));
    dirs.push(dir);
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const config = validateAgentConfig({ agent: 'hdr', dataDir: dir, listen: '127.0.0.1:0', peers: {}, concurrency: 1, logLevel: 'info', maxChunkBytes: 1024, ...extra });
    const { app, started } = createAgentApp({
      config,
      deps: { workflow, store: new FsObjectStore(dir), logger: createLogger('hdr', 'info', sink) },
      handlers: { hdr10: async () => undefined },
    });
    return { app, lines, dir, started };
  }

  it('reuses an incoming x-request-id in the response and the log line, and mints one otherwise', async () => {
    const { app, lines } = build();
    const res = await request(app).get('/v1/status').set('x-request-id', 'chunk-7-hop-3');
    expect(res.headers['x-request-id']).toBe('chunk-7-hop-3');
    expect(lines.some((l) => (l.req as { id?: string })?.id === 'chunk-7-hop-3')).toBe(true);
    const minted = await request(app).get('/v1/status');
    expect(minted.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never logs credentials', async () => {
    const { app, lines } = build();
    await request(app).get('/v1/status').set('authorization', 'Basic b3duZXI6c2VjcmV0');
    expect(JSON.stringify(lines)).not.toContain('b3duZXI6c2VjcmV0');
  });

  describe("with a pod token: private to its pod (only the pod's proxy has the token)", () => {
    const podToken = randomBytes(32).toString('base64url');
    const handoff = '/v1/handoffs/feature-film/hdr-master/picture/0';

    it('refuses a handoff with a forged x-reelmesh-peer and no token, or a wrong one, before parsing or storing anything', async () => {
      const { app, lines, dir } = build({ podToken });
      for (const token of [undefined, randomBytes(32).toString('base64url'), podToken.slice(1), `${podToken}, ${podToken}`]) {
        const req = request(app).post(handoff).set('x-reelmesh-peer', 'spiffe://reelmesh.local/ns/color/sa/color').attach('chunk', Buffer.from('forged bytes'), 'chunk.mkv');
        const res = await (token === undefined ? req : req.set(POD_TOKEN_HEADER, token));
        expect(res.status).toBe(403);
        expect(res.body).toEqual({ error: { code: 'POD_PRIVATE', message: "this app takes requests only through its pod's proxy" } });
      }
      expect(readdirSync(dir)).toEqual([]);
      const refusals = lines.filter((l) => l.msg === "refused a request that did not come through the pod's proxy");
      expect(refusals).toHaveLength(4);
      expect(refusals[0]).toMatchObject({ level: 40, method: 'POST', path: handoff, claimedPeer: 'spiffe://reelmesh.local/ns/color/sa/color' });
      expect(JSON.stringify(lines)).not.toContain(podToken.slice(1));
    });

    it('answers GET /health and GET /ready (probes) to anyone, and nothing else without the token', async () => {
      const { app, started } = build({ podToken });
      expect((await request(app).get('/health')).status).toBe(200);
      // Ready once the (here empty) volume has been taken up.
      await started;
      expect((await request(app).get('/ready')).body).toEqual({ ready: true, agent: expect.any(String) });
      expect((await request(app).get('/v1/status')).body.error.code).toBe('POD_PRIVATE');
      expect((await request(app).post('/health')).status).toBe(403);
      expect((await request(app).get('/nowhere')).status).toBe(403);
    });

    it('takes what its proxy forwards (the right token)', async () => {
      const { app } = build({ podToken });
      expect((await request(app).get('/v1/status').set(POD_TOKEN_HEADER, podToken)).status).toBe(200);
      // Past the pod check the handoff router decides (here: a body that is no handoff).
      const res = await request(app).post(handoff).set(POD_TOKEN_HEADER, podToken).send('x');
      expect(res.status).toBe(415);
    });

    it('without a pod token (plain mode, own network namespace) the app answers as before', async () => {
      const { app } = build();
      expect((await request(app).get('/v1/status')).status).toBe(200);
    });
  });

  it('refuses to build an agent the workflow does not declare', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-app-'));
    dirs.push(dir);
    const config = validateAgentConfig({ agent: 'rogue', dataDir: dir, listen: '127.0.0.1:0', peers: {}, concurrency: 1, logLevel: 'silent', maxChunkBytes: 1024 });
    expect(() =>
      createAgentApp({ config, deps: { workflow, store: new FsObjectStore(dir), logger: createLogger('x', 'silent') }, handlers: {} }),
    ).toThrow(/agent "rogue" is not declared in workflow feature-film/);
  });

  it('refuses a handler set that misses one of its steps', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-app-'));
    dirs.push(dir);
    const config = validateAgentConfig({ agent: 'vfx-1', dataDir: dir, listen: '127.0.0.1:0', peers: {}, concurrency: 1, logLevel: 'silent', maxChunkBytes: 1024 });
    expect(() =>
      createAgentApp({ config, deps: { workflow, store: new FsObjectStore(dir), logger: createLogger('x', 'silent') }, handlers: {} }),
    ).toThrow(/no handler for job "demux"/);
  });
});
