import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_AGENT, LEDGER_LOG, verifyAuditLog } from '@reelmesh/provenance';
import { readEventStream } from '@reelmesh/http-kit';
import { FsObjectStore } from '@reelmesh/storage';
import { request } from '../testing/fixtures';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { startControlPlane, type ControlPlane } from './server';

const TD = 'reelmesh.local';

describe('control plane API', () => {
  let cp: ControlPlane;
  let color: { token: string; spiffeId: string };
  beforeAll(async () => {
    cp = await startControlPlane({ trustDomain: TD, svidTtlSeconds: 600 });
    color = cp.enroll({ actor: 'color', agent: 'color' });
  });
  afterAll(() => cp.close());

  it('issues a workload exactly the SVID its bootstrap token is bound to, capped at the TTL', async () => {
    const client = new ControlPlaneClient({ url: cp.url, token: color.token });
    const svid = await client.fetchSvid();
    client.close();
    expect(svid.spiffeId).toBe(`spiffe://${TD}/ns/color/sa/color`);
    expect(new X509Certificate(svid.certPem).subjectAltName).toBe(`URI:${svid.spiffeId}`);
    expect(svid.notAfter.getTime() - Date.now()).toBeLessThanOrEqual(600_000);
    expect(svid.bundlePem).toBe(cp.ca.bundlePem);
  });

  it('rejects missing and unknown tokens with JSON errors', async () => {
    const none = await request(`${cp.url}/v1/svid`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('UNAUTHENTICATED');
    const wrong = await request(`${cp.url}/v1/svid`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('lets a workload register only itself; lookups return the address and identity', async () => {
    const client = new ControlPlaneClient({ url: cp.url, token: color.token });
    const entry = await client.register({ agent: 'color', host: '127.0.0.1', port: 9443 });
    expect(entry).toEqual({ agent: 'color', spiffeId: color.spiffeId, host: '127.0.0.1', port: 9443 });
    expect(await client.lookup('color')).toEqual(entry);
    expect(await client.lookup('hdr')).toBeUndefined();
    cp.enroll({ actor: 'hdr', agent: 'hdr' });
    await expect(client.register({ agent: 'hdr', host: '127.0.0.1', port: 1 })).rejects.toMatchObject({ status: 403 });
    expect(await client.lookup('hdr')).toBeUndefined();
    client.close();
  });

  it('routes by table: an unknown path is 404, a known path with another method 405, both JSON', async () => {
    const auth = { authorization: `Bearer ${color.token}` };
    const unknown = await request(`${cp.url}/v1/nothing-here`, { headers: auth });
    expect({ status: unknown.status, code: JSON.parse(unknown.body).error.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
    const wrongMethod = await request(`${cp.url}/v1/svid`, { method: 'DELETE', headers: auth });
    expect(wrongMethod.status).toBe(405);
    expect(JSON.parse(wrongMethod.body).error).toEqual({ code: 'METHOD_NOT_ALLOWED', message: 'use POST /v1/svid' });
    const registry = await request(`${cp.url}/v1/registry/color`, { method: 'POST', headers: auth });
    expect(JSON.parse(registry.body).error.message).toBe('use GET or PUT /v1/registry/color');
    // Health is the one route that needs no token.
    expect((await request(`${cp.url}/health`)).status).toBe(200);
  });

  it('enrols workloads over the API only for the admin', async () => {
    const admin = new ControlPlaneClient({ url: cp.url, token: cp.adminToken });
    const { token, spiffeId } = await admin.enroll({ actor: 'sound', agent: 'sound' });
    expect(spiffeId).toBe(`spiffe://${TD}/ns/sound/sa/sound`);
    await expect(admin.enroll({ actor: 'Bad Actor', agent: 'x' })).rejects.toMatchObject({ status: 400 });
    const asWorkload = new ControlPlaneClient({ url: cp.url, token });
    await expect(asWorkload.enroll({ actor: 'owner', agent: 'owner' })).rejects.toMatchObject({ status: 403 });
    expect((await asWorkload.fetchSvid()).spiffeId).toBe(spiffeId);
    admin.close();
    asWorkload.close();
  });
});

describe("control plane: the owner's audit ledger", () => {
  let cp: ControlPlane;
  let dir: string;
  let vfx: { token: string; spiffeId: string };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelmesh-cp-audit-'));
    cp = await startControlPlane({ trustDomain: TD, audit: { store: new FsObjectStore(dir), workflowId: 'feature-film', ownerActor: 'owner' } });
    vfx = cp.enroll({ actor: 'vfx', agent: 'vfx-1' });
  });
  afterAll(async () => {
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  });
  const post = (path: string, token: string, body: unknown) =>
    request(`${cp.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('takes handoffs from a pod app and decisions from its policy sidecar, each stamped with the pod identity', async () => {
    expect((await post('/v1/audit/events', vfx.token, [{ type: 'handoff-sent', chunk: 0 }])).status).toBe(200);
    const decision = { decision_id: 'd1', timestamp: new Date().toISOString(), path: 'reelmesh/authz/allow', result: true };
    const res = await post('/v1/audit/logs', vfx.token, [decision]);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ accepted: 1, size: 2 });
    const state = await request(`${cp.url}/v1/audit`, { headers: { authorization: `Bearer ${cp.adminToken}` } });
    expect(JSON.parse(state.body)).toMatchObject({ entries: 2 });
    await cp.ledger!.checkpoint();
    const report = await verifyAuditLog({
      store: new FsObjectStore(dir), name: LEDGER_LOG, workflowId: 'feature-film', agent: LEDGER_AGENT, caBundle: cp.ca.bundlePem,
      checkpointSigner: `spiffe://${TD}/ns/owner/sa/audit-ledger`,
      onEntry: (e) => expect(e.event.by).toMatchObject({ spiffeId: vfx.spiffeId, agent: 'vfx-1' }),
    });
    expect(report).toMatchObject({ ok: true, entries: 2, checkpoints: 1 });
  });

  it('streams the ledger to the owner as it grows (SSE): a hello, every stored entry, every signed checkpoint', async () => {
    const messages: Array<{ event: string; data: Record<string, unknown> }> = [];
    let sawCheckpoint: () => void = () => undefined;
    const checkpointed = new Promise<void>((resolve) => (sawCheckpoint = resolve));
    const target = new URL(cp.url);
    const req = httpRequest({ host: target.hostname, port: target.port, path: '/v1/audit/stream', headers: { authorization: `Bearer ${cp.adminToken}` } });
    const opened = new Promise<void>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        readEventStream(res, ({ event, data }) => {
          messages.push({ event, data: JSON.parse(data) as Record<string, unknown> });
          if (event === 'hello') resolve();
          if (event === 'checkpoint') sawCheckpoint();
        });
      });
    });
    req.end();
    await opened;
    const before = messages[0].data.entries as number;
    const decision = { decision_id: 'stream-1', timestamp: new Date().toISOString(), path: 'reelmesh/authz/decision', input: { source: 'a', destination: 'b', method: 'POST', path: '/x' }, result: { allowed: false }, reason: 'handoff_not_allowed' };
    expect((await post('/v1/audit/logs', vfx.token, [decision])).status).toBe(200);
    await cp.ledger!.checkpoint();
    await checkpointed;
    req.destroy();
    expect(messages.map((m) => m.event)).toEqual(['hello', 'entry', 'checkpoint']);
    expect(messages[1].data).toMatchObject({ seq: before, event: { type: 'decision', by: { agent: 'vfx-1', component: 'policy' }, decision: { decision_id: 'stream-1', reason: 'handoff_not_allowed' } } });
    expect(messages[2].data).toMatchObject({ to: before, head: cp.ledger!.head, signedBy: `spiffe://${TD}/ns/owner/sa/audit-ledger` });
    // Only the owner watches: a pod's token is refused, as is no token.
    expect((await request(`${cp.url}/v1/audit/stream`, { headers: { authorization: `Bearer ${vfx.token}` } })).status).toBe(403);
    expect((await request(`${cp.url}/v1/audit/stream`)).status).toBe(401);
  });

  it('refuses the admin, unknown callers, readers without the admin token, and malformed batches (JSON errors)', async () => {
    expect((await post('/v1/audit/events', cp.adminToken, [{ type: 'handoff-sent' }])).status).toBe(403);
    expect((await post('/v1/audit/events', 'nope', [{ type: 'handoff-sent' }])).status).toBe(401);
    expect((await request(`${cp.url}/v1/audit`, { headers: { authorization: `Bearer ${vfx.token}` } })).status).toBe(403);
    const spoofed = await post('/v1/audit/events', vfx.token, [{ type: 'handoff-sent', by: { agent: 'owner' } }]);
    expect(spoofed.status).toBe(400);
    expect(JSON.parse(spoofed.body).error).toMatchObject({ code: 'BAD_EVENT', message: expect.stringContaining('"by" is set by the ledger') });
    expect((await post('/v1/audit/logs', vfx.token, [{ type: 'handoff-sent' }])).status).toBe(400);
  });
});
