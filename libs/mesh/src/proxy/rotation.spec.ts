import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa } from '../ca/ca';
import { SvidSource } from '@reelmesh/workload-identity';
import { MemoryRegistry } from '../control-plane/registry';
import { collectAccessLog, request, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa, TD, OWNER, VFX1 } from '../testing/fixtures';
import { startProxy, type RunningProxy } from './proxy';

const TTL_SECONDS = 4;
const MIN_REQUESTS = 50;
// Traffic runs until both sides have rotated twice and enough requests were made, however slow the
// machine; the cap only stops a broken rotation from hanging the suite.
const CAP_MS = 60_000;

describe('SVID rotation under traffic', () => {
  let policy: FakeOpa;
  let app: EchoApp;
  let vfx: RunningProxy;
  let owner: RunningProxy;
  const { stream: accessLog, entries: log } = collectAccessLog();
  const rotations = { owner: 0, vfx: 0 };

  beforeAll(async () => {
    const ca = await createCa({ trustDomain: TD });
    policy = await startOpaShapedPolicy(() => ({ allowed: true, reason: 'ok' }), { record: false });
    app = await startEchoApp({ record: false });
    const registry = new MemoryRegistry();
    const [vfxSource, ownerSource] = await Promise.all([
      SvidSource.fromIssuer(ca, VFX1, TTL_SECONDS),
      SvidSource.fromIssuer(ca, OWNER, TTL_SECONDS),
    ]);
    vfxSource.on('rotated', () => rotations.vfx++);
    ownerSource.on('rotated', () => rotations.owner++);
    // A generous policy timeout: this test is about rotation, not decision latency on a loaded box.
    vfx = await startProxy({ agent: 'vfx-1', svidSource: vfxSource, registry, policyUrl: policy.url, policyTimeoutMs: 5_000, appUrl: app.url, accessLog });
    registry.register({ agent: 'vfx-1', spiffeId: VFX1, host: '127.0.0.1', port: vfx.inboundPort });
    owner = await startProxy({ agent: 'owner', svidSource: ownerSource, registry, policyUrl: policy.url, appUrl: app.url });
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    owner?.svidSource.stop();
    vfx?.svidSource.stop();
    await Promise.all([policy?.close(), app?.close()]);
  });

  it('keeps every request succeeding while both sides rotate their SVIDs', { timeout: CAP_MS + 30_000 }, async () => {
    const firstServerSerial = vfx.svidSource.current().serialNumber;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const deadline = Date.now() + CAP_MS;
    const statuses: number[] = [];
    const clientSerials = () => new Set(log.filter((l) => l.direction === 'inbound').map((l) => l.peerSerial));
    const enough = () => statuses.length > MIN_REQUESTS && rotations.owner >= 2 && rotations.vfx >= 2 && clientSerials().size >= 2;
    // Four concurrent callers so some requests are in flight at every rotation.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!enough() && Date.now() < deadline) {
          const reply = await request(`${owner.outboundUrl}/v1/handoffs/wf/demux/av/0`, {
            method: 'POST',
            headers: { host: 'vfx-1' },
            body: 'x'.repeat(4096),
            agent: keepAlive,
          });
          statuses.push(reply.status);
          await sleep(20);
        }
      }),
    );
    keepAlive.destroy();

    expect(statuses.length).toBeGreaterThan(MIN_REQUESTS);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(rotations.owner).toBeGreaterThanOrEqual(2);
    expect(rotations.vfx).toBeGreaterThanOrEqual(2);
    // The client certificate the server saw changed; the server's own SVID changed too.
    expect(clientSerials().size).toBeGreaterThanOrEqual(2);
    expect(vfx.svidSource.current().serialNumber).not.toBe(firstServerSerial);
  });
});
