import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '@reelmesh/storage';
import { loadWorkflow } from '@reelmesh/workflow';
import { validateAgentConfig } from './config';
import { createAgentApp } from './create-agent-app';
import { createLogger } from './logger';

const workflow = loadWorkflow();

describe('createAgentApp', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  function build() {
    const dir = mkdtempSync(join(tmpdir(), 'agent-app-'));
    dirs.push(dir);
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const config = validateAgentConfig({ agent: 'hdr', dataDir: dir, listen: '127.0.0.1:0', peers: {}, concurrency: 1, logLevel: 'info', maxChunkBytes: 1024 });
    const { app } = createAgentApp({
      config,
      deps: { workflow, store: new FsObjectStore(dir), logger: createLogger('hdr', 'info', sink) },
      handlers: { hdr10: async () => undefined },
    });
    return { app, lines };
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
