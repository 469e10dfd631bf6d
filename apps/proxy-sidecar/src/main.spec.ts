import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOptions } from '@reelmesh/http-kit';
import { peakRssBytes, runProgramToExit, startProgram, type StartedProgram } from '@reelmesh/http-kit/testing';
import { startControlPlane, type ControlPlane } from '@reelmesh/mesh';
import { request, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa } from '@reelmesh/mesh/testing';
import { PROXY_SIDECAR } from './index';

const TD = 'reelmesh.local';
const OWNER = `spiffe://${TD}/ns/owner/sa/owner`;
const VFX1 = `spiffe://${TD}/ns/vfx/sa/vfx-1`;
const UPLOAD_BYTES = 200 * 1024 * 1024;

/** A deterministic stream of `total` bytes, hashed as it is produced (never held whole). */
function sourceStream(total: number, hash: ReturnType<typeof createHash>): Readable {
  const block = randomBytes(1024 * 1024);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(block.length, total - sent);
      const chunk = n === block.length ? block : block.subarray(0, n);
      block[0] = (block[0] + 1) & 0xff; // vary the blocks so reordering would show in the digest
      hash.update(chunk);
      sent += n;
      this.push(Buffer.from(chunk));
    },
  });
}

describe('proxy sidecar processes with a control plane', () => {
  let cp: ControlPlane;
  let policy: FakeOpa;
  let vfxApp: EchoApp;
  let ownerApp: EchoApp;
  let vfx: StartedProgram;
  let owner: StartedProgram;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rm-proxy-'));
    cp = await startControlPlane({ trustDomain: TD });
    policy = await startOpaShapedPolicy((input) =>
      input.attributes.source.principal === OWNER ? { allowed: true, reason: 'owner may hand off to vfx-1' } : { allowed: false, reason: 'not an edge' },
    );
    [vfxApp, ownerApp] = await Promise.all([startEchoApp(), startEchoApp()]);
    const common = ['--control-plane', cp.url, '--policy-url', policy.url];
    [vfx, owner] = await Promise.all([
      startProgram(PROXY_SIDECAR.main, ['--agent', 'vfx-1', '--spiffe-id', VFX1, '--app-url', vfxApp.url, '--health', '127.0.0.1:0', ...common], {
        REELMESH_BOOTSTRAP_TOKEN: cp.enroll({ actor: 'vfx', agent: 'vfx-1' }).token,
      }),
      // The owner's app reaches its proxy through a Unix socket in the pod's folder, as in `reelmesh demo`.
      startProgram(PROXY_SIDECAR.main, ['--agent', 'owner', '--app-url', ownerApp.url, '--outbound', `unix:${join(dir, 'outbound.sock')}`, ...common], {
        REELMESH_BOOTSTRAP_TOKEN: cp.enroll({ actor: 'owner', agent: 'owner' }).token,
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([vfx?.stop(), owner?.stop()]);
    await Promise.all([cp?.close(), policy?.close(), vfxApp?.close(), ownerApp?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('announces what it bound, registers its inbound port and carries an allowed call with the SVID identity', async () => {
    expect(owner.ready).toMatchObject({
      service: 'proxy-sidecar',
      details: { agent: 'owner', spiffeId: OWNER },
      endpoints: { inbound: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/), outbound: `unix:${join(dir, 'outbound.sock')}` },
    });
    expect(vfx.ready.endpoints.outbound).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(cp.registry.resolve('vfx-1')).toMatchObject({ spiffeId: VFX1, port: Number(new URL(vfx.ready.endpoints.inbound).port) });
    const reply = await request(owner.ready.endpoints.outbound, { path: '/v1/handoffs/wf/demux/av/0', method: 'POST', headers: { host: 'vfx-1' }, body: 'hello' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).peer).toBe(OWNER);
    const health = await request(`${vfx.ready.endpoints.health}/health`);
    expect(health.status).toBe(200);
  });

  it('streams a 200 MB upload through the pair intact, with bounded proxy memory', async () => {
    const warm = await request(owner.ready.endpoints.outbound, { path: '/warm', method: 'POST', headers: { host: 'vfx-1' }, body: randomBytes(1024 * 1024) });
    expect(warm.status).toBe(200);
    const baseline = [peakRssBytes(owner.child.pid!), peakRssBytes(vfx.child.pid!)];

    const sent = createHash('sha256');
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ ...connectOptions(owner.ready.endpoints.outbound), method: 'POST', path: '/upload', headers: { host: 'vfx-1' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      sourceStream(UPLOAD_BYTES, sent).pipe(req);
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ peer: OWNER, bytes: UPLOAD_BYTES, sha256: sent.digest('hex') });

    // Peak RSS of each proxy process grew by far less than the body: nothing was buffered whole.
    const growth = [peakRssBytes(owner.child.pid!) - baseline[0], peakRssBytes(vfx.child.pid!) - baseline[1]];
    for (const g of growth) expect(g).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses to start without its bootstrap token, with one error line', async () => {
    const run = await runProgramToExit(PROXY_SIDECAR.main, ['--agent', 'x', '--control-plane', cp.url, '--app-url', 'http://127.0.0.1:1', '--policy-url', policy.url], { REELMESH_BOOTSTRAP_TOKEN: '' });
    expect(run.code).toBe(1);
    expect(run.errorLine).toMatchObject({ service: 'proxy-sidecar', code: 'CONFIG_INVALID', message: 'REELMESH_BOOTSTRAP_TOKEN is not set' });
  });
});
