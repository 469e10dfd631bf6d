import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient, SvidSource } from '@reelmesh/workload-identity';
import { ControlPlaneRegistry } from '../control-plane/cached-registry';
import { startControlPlane, type ControlPlane } from '../control-plane/server';
import { HANDOFF, ownerToVfx1Only, request, startEchoApp, startOpaShapedPolicy, TD, type EchoApp, type FakeOpa } from '../testing/fixtures';
import { startProxy, type RunningProxy } from './proxy';

// The control plane is killed and its supervisor starts it again on the same port and directory.
// Meanwhile the pods carry on: proxies route with the registry entries they already know, and a
// workload whose SVID is due for renewal keeps retrying until the control plane answers again.

const ADMIN = 'admin-token-of-the-run';

describe('a control-plane outage, seen from the pods', () => {
  let dir: string;
  let cp: ControlPlane | undefined;
  let listen: string;
  let policy: FakeOpa;
  let app: EchoApp;
  let vfx: RunningProxy;
  let owner: RunningProxy;
  let ownerToken: string;
  const clients: ControlPlaneClient[] = [];
  const startCp = async () => (cp = await startControlPlane({ trustDomain: TD, dir, listen, adminToken: ADMIN, svidTtlSeconds: 600 }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelmesh-cp-outage-'));
    listen = '127.0.0.1:0';
    await startCp();
    listen = cp!.url.replace(/^http:\/\//, '');
    [policy, app] = await Promise.all([startOpaShapedPolicy(ownerToVfx1Only, { record: false }), startEchoApp({ record: false })]);
    const vfxToken = cp!.enroll({ actor: 'vfx', agent: 'vfx-1' }).token;
    ownerToken = cp!.enroll({ actor: 'owner', agent: 'owner' }).token;
    vfx = await startProxy({ agent: 'vfx-1', controlPlane: { url: cp!.url, token: vfxToken }, policyUrl: policy.url, appUrl: app.url });
    // No cache time: every request asks the control plane, so each one below meets the outage.
    const lookups = new ControlPlaneClient({ url: cp!.url, token: ownerToken });
    clients.push(lookups);
    owner = await startProxy({ agent: 'owner', controlPlane: { url: cp!.url, token: ownerToken }, registry: new ControlPlaneRegistry(lookups, 0, 0), policyUrl: policy.url, appUrl: app.url });
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    for (const c of clients) c.close();
    await cp?.close();
    await Promise.all([policy?.close(), app?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const handoff = (host: string) => request(`${owner.outboundUrl}${HANDOFF}`, { method: 'POST', headers: { host }, body: 'chunk' });

  it('proxies keep routing to known peers from their last registry answer, and SVID renewal retries until it is back', { timeout: 60_000 }, async () => {
    expect((await handoff('vfx-1')).status).toBe(200);
    // A workload whose 4 s SVID is renewed at half-life, first retry after 100 ms, doubling.
    const client = new ControlPlaneClient({ url: cp!.url, token: ownerToken, timeoutMs: 2_000 });
    clients.push(client);
    const source = await SvidSource.start({ fetch: () => client.fetchSvid(4), retryMs: 100 });
    const first = source.current();
    const errors: Error[] = [];
    source.on('error', (error) => errors.push(error));

    await cp!.close();
    cp = undefined;
    // Stale on error: the peer resolved before is still reached; one never resolved is not.
    expect((await handoff('vfx-1')).status).toBe(200);
    expect((await handoff('vfx-1')).status).toBe(200);
    const unknown = await handoff('hdr');
    expect({ status: unknown.status, code: JSON.parse(unknown.body).error.code }).toEqual({ status: 503, code: 'REGISTRY_UNAVAILABLE' });
    // The renewal fails, and is tried again.
    while (errors.length < 2) await once(source, 'error');
    expect(errors[0].message).toMatch(/ECONNREFUSED|connect/);

    // Back on the same port with the same directory: the old tokens work, the renewal goes through.
    const rotated = once(source, 'rotated');
    await startCp();
    const [next] = (await rotated) as [typeof first];
    source.stop();
    expect(next.spiffeId).toBe(first.spiffeId);
    expect(next.serialNumber).not.toBe(first.serialNumber);
    expect(next.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
    expect((await handoff('vfx-1')).status).toBe(200);
  });

  it('a proxy started while the control plane is down waits for it (bounded) instead of exiting, then registers', { timeout: 60_000 }, async () => {
    const token = cp!.enroll({ actor: 'vfx', agent: 'vfx-2' }).token;
    await cp!.close();
    cp = undefined;
    const options = { agent: 'vfx-2', controlPlane: { url: `http://${listen}`, token }, policyUrl: policy.url, appUrl: app.url };
    // Without a wait it fails at once, as before (a restart then counts as this sidecar's crash).
    await expect(startProxy(options)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const waiting = startProxy({ ...options, controlPlaneStartupWaitMs: 30_000 });
    let settled = false;
    void waiting.then(() => (settled = true), () => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(settled).toBe(false); // still waiting, not failed
    await startCp();
    const late = await waiting;
    try {
      const lookups = new ControlPlaneClient({ url: cp!.url, token: ownerToken });
      clients.push(lookups);
      expect(await lookups.lookup('vfx-2')).toMatchObject({ agent: 'vfx-2', port: late.inboundPort });
    } finally {
      await late.close();
    }
  });
});
