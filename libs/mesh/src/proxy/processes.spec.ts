import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, type ControlPlane } from '../control-plane/server';
import { request, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa } from '../testing/fixtures';
import { peakRssBytes, PROXY_MAIN, spawnMain, type Spawned } from '../testing/processes';

const TD = 'reelmesh.local';
const OWNER = `spiffe://${TD}/ns/owner/sa/owner`;
const VFX1 = `spiffe://${TD}/ns/vfx/sa/vfx-1`;
const UPLOAD_BYTES = 200 * 1024 * 1024;

interface ProxyReady {
  inboundPort: number;
  outboundPort: number;
  healthPort: number;
  spiffeId: string;
}

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

describe('proxy processes started from main.ts with a control plane', () => {
  let cp: ControlPlane;
  let policy: FakeOpa;
  let vfxApp: EchoApp;
  let ownerApp: EchoApp;
  let vfx: Spawned<ProxyReady>;
  let owner: Spawned<ProxyReady>;

  beforeAll(async () => {
    cp = await startControlPlane({ trustDomain: TD });
    policy = await startOpaShapedPolicy((input) =>
      input.attributes.source.principal === OWNER
        ? { allowed: true, reason: 'owner may hand off to vfx-1' }
        : { allowed: false, reason: 'not an edge' },
    );
    [vfxApp, ownerApp] = await Promise.all([startEchoApp(), startEchoApp()]);
    const common = ['--control-plane', cp.url, '--policy-url', policy.url];
    [vfx, owner] = await Promise.all([
      spawnMain<ProxyReady>(PROXY_MAIN, ['--agent', 'vfx-1', '--spiffe-id', VFX1, '--app-url', vfxApp.url, ...common], {
        REELMESH_BOOTSTRAP_TOKEN: cp.enroll({ actor: 'vfx', agent: 'vfx-1' }).token,
      }),
      spawnMain<ProxyReady>(PROXY_MAIN, ['--agent', 'owner', '--app-url', ownerApp.url, ...common], {
        REELMESH_BOOTSTRAP_TOKEN: cp.enroll({ actor: 'owner', agent: 'owner' }).token,
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([vfx?.stop(), owner?.stop()]);
    await Promise.all([cp?.close(), policy?.close(), vfxApp?.close(), ownerApp?.close()]);
  });

  it('registers itself and carries an allowed call, identity from the SVID the control plane issued', async () => {
    expect(owner.ready.spiffeId).toBe(OWNER);
    expect(cp.registry.resolve('vfx-1')).toMatchObject({ spiffeId: VFX1, port: vfx.ready.inboundPort });
    const reply = await request(`http://127.0.0.1:${owner.ready.outboundPort}/v1/handoffs/wf/demux/av/0`, {
      method: 'POST',
      headers: { host: 'vfx-1' },
      body: 'hello',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).peer).toBe(OWNER);
    const health = await request(`http://127.0.0.1:${vfx.ready.healthPort}/health`);
    expect(health.status).toBe(200);
  });

  it('streams a 200 MB upload through the pair intact, with bounded proxy memory', async () => {
    const warm = await request(`http://127.0.0.1:${owner.ready.outboundPort}/warm`, {
      method: 'POST',
      headers: { host: 'vfx-1' },
      body: randomBytes(1024 * 1024),
    });
    expect(warm.status).toBe(200);
    const baseline = [peakRssBytes(owner.child.pid!), peakRssBytes(vfx.child.pid!)];

    const sent = createHash('sha256');
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: owner.ready.outboundPort, method: 'POST', path: '/upload', headers: { host: 'vfx-1' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      sourceStream(UPLOAD_BYTES, sent).pipe(req);
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ peer: OWNER, bytes: UPLOAD_BYTES, sha256: sent.digest('hex') });

    // Peak RSS of each proxy process grew by far less than the body: nothing was buffered whole.
    const growth = [peakRssBytes(owner.child.pid!) - baseline[0], peakRssBytes(vfx.child.pid!) - baseline[1]];
    for (const g of growth) expect(g).toBeLessThan(64 * 1024 * 1024);
  });
});
