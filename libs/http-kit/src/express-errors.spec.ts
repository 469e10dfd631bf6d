import { describe, it, expect } from 'vitest';
import express from 'express';
import request from 'supertest';
import { HttpError, jsonErrorHandler } from './index';

function appThrowing(error: unknown) {
  const app = express();
  app.use(express.json());
  app.post('/json', (_req, res) => void res.json({ ok: true }));
  app.get('/boom', () => {
    throw error;
  });
  app.use(jsonErrorHandler());
  return app;
}

describe('jsonErrorHandler', () => {
  it('renders an HttpError with its status, code and message', async () => {
    const res = await request(appThrowing(new HttpError(409, 'SLOT_CONFLICT', 'taken'))).get('/boom').expect(409);
    expect(res.body).toEqual({ error: { code: 'SLOT_CONFLICT', message: 'taken' } });
  });

  it('turns unknown errors into 500 INTERNAL without leaking their message', async () => {
    const res = await request(appThrowing(new Error('ENOENT /var/secret/key.pem'))).get('/boom').expect(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    const hidden = await request(appThrowing(new HttpError(502, 'UPSTREAM', 'db at 10.0.0.3 down'))).get('/boom').expect(502);
    expect(hidden.body).toEqual({ error: { code: 'UPSTREAM', message: 'internal error' } });
  });

  it('keeps the status of Express/body-parser errors (bad JSON -> 400)', async () => {
    const res = await request(appThrowing(undefined)).post('/json').set('content-type', 'application/json').send('{oops').expect(400);
    expect(res.body.error.code).toBe('BAD_REQUEST');
    expect(typeof res.body.error.message).toBe('string');
  });

  it('answers a full volume (ENOSPC, EDQUOT) with 507 INSUFFICIENT_STORAGE, naming the object but no path', async () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write '/var/lib/reelmesh/vfx-1/x'"), { code: 'ENOSPC', syscall: 'write' });
    const res = await request(appThrowing(Object.assign(full, { objectKey: 'wf/demux/av/00003.mkv', volume: 'vfx-1' }))).get('/boom').expect(507);
    expect(res.body).toEqual({
      error: { code: 'INSUFFICIENT_STORAGE', message: 'the volume of vfx-1 is full (ENOSPC: no space left): cannot store wf/demux/av/00003.mkv; retry once space is freed' },
    });
    const quota = await request(appThrowing(Object.assign(new Error('EDQUOT /srv'), { code: 'EDQUOT', objectKey: '/srv/abs' }))).get('/boom').expect(507);
    expect(quota.body.error).toEqual({ code: 'INSUFFICIENT_STORAGE', message: 'the volume is full (EDQUOT: disk quota exceeded); retry once space is freed' });
  });

  it('handles thrown non-errors', async () => {
    const res = await request(appThrowing('just a string')).get('/boom').expect(500);
    expect(res.body.error.code).toBe('INTERNAL');
  });
});
