import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkflow } from '@reelmesh/workflow';
import { validateAgentConfig } from './config';
import { createAgentApp } from './create-agent-app';
import { createLogger } from './logger';
import { createStores } from './stores';
import { manifestFor } from './testing';

const workflow = loadWorkflow();

describe('sealed storage fails closed', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('KMS unreachable: the handoff is refused with 503 KMS_UNAVAILABLE and no file is left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealed-'));
    dirs.push(dir);
    const config = validateAgentConfig({
      agent: 'vfx-2',
      dataDir: dir,
      listen: '127.0.0.1:0',
      peers: {},
      concurrency: 1,
      logLevel: 'silent',
      maxChunkBytes: 1 << 20,
      kms: {
        endpoint: 'http://127.0.0.1:1', // nothing listens here
        region: 'local-1',
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'secret',
        keyId: 'alias/reelmesh/owner/workflow',
        allowedKeyIds: [],
      },
    });
    const stores = createStores(config);
    const { app } = createAgentApp({
      config,
      deps: { workflow, store: stores.data, logger: createLogger('vfx-2', 'silent') },
      handlers: { demux: async () => undefined, 'picture-fx': async () => undefined, 'sound-fx': async () => undefined },
    });
    const bytes = Buffer.alloc(200_000, 1);
    const res = await request(app)
      .post('/v1/handoffs/feature-film/picture-fx/picture/0')
      .field('manifest', JSON.stringify(manifestFor(workflow, 'picture-fx', 'picture', bytes)))
      .attach('chunk', bytes, { filename: 'c.mkv', contentType: 'video/x-matroska' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('KMS_UNAVAILABLE');
    expect(res.body.error.message).toMatch(/KMS/);
    expect(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())).toEqual([]);
    expect((await request(app).get('/health')).status).toBe(200);
  }, 60_000);
});
