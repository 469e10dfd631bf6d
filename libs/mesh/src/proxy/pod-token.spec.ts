import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOptions } from '@reelmesh/http-kit';
import { SvidSource } from '@reelmesh/workload-identity';
import { createCa, type Ca } from '../ca/ca';
import { MemoryRegistry } from '../control-plane/registry';
import { collectAccessLog, mtlsCall, request, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa, TD, OWNER, VFX1, HANDOFF, ownerToVfx1Only } from '../testing/fixtures';
import { forwardableHeaders } from './headers';
import { POD_TOKEN_HEADER } from './pod-token';
import { startProxy, type RunningProxy } from './proxy';

const token = () => randomBytes(32).toString('base64url');

/** The pod's token on the hops inside a pod: added towards the app, required from the app, never leaving the pod. */
describe('pod token (proxy pair with a pod token each, real TLS, real sockets)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-pod-token-'));
  const ownerToken = token();
  const vfxToken = token();
  let ca: Ca;
  let policy: FakeOpa;
  let vfxApp: EchoApp;
  let ownerApp: EchoApp;
  let vfx: RunningProxy;
  let owner: RunningProxy;
  const { stream: accessLog, entries: log } = collectAccessLog();

  beforeAll(async () => {
    ca = await createCa({ trustDomain: TD });
    policy = await startOpaShapedPolicy(ownerToVfx1Only);
    [vfxApp, ownerApp] = await Promise.all([startEchoApp(), startEchoApp()]);
    const registry = new MemoryRegistry();
    // The owner's app reaches its outbound listener on a Unix socket in the pod's folder, as in the local runtime.
    const pod = async (agent: string, spiffeId: string, app: EchoApp, podToken: string) =>
      startProxy({ agent, spiffeId, svidSource: await SvidSource.fromIssuer(ca, spiffeId), registry, policyUrl: policy.url, appUrl: app.url, podToken, accessLog, outbound: `unix:${join(dir, `${agent}.sock`)}` });
    [vfx, owner] = await Promise.all([pod('vfx-1', VFX1, vfxApp, vfxToken), pod('owner', OWNER, ownerApp, ownerToken)]);
    registry.register({ agent: 'vfx-1', spiffeId: VFX1, host: '127.0.0.1', port: vfx.inboundPort });
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    vfx?.svidSource.stop();
    owner?.svidSource.stop();
    await Promise.all([policy?.close(), vfxApp?.close(), ownerApp?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (headers: Record<string, string>) => request(owner.outboundUrl, { path: HANDOFF, method: 'POST', headers: { host: 'vfx-1', ...headers }, body: 'chunk' });

  it("carries the app's call with its pod's token; the destination app gets its own pod's token, the policy sees none", async () => {
    const before = vfxApp.seen.length;
    const reply = await send({ [POD_TOKEN_HEADER]: ownerToken });
    expect(reply.status).toBe(200);
    const seen = vfxApp.seen[before];
    expect(seen.headers[POD_TOKEN_HEADER]).toBe(vfxToken);
    expect(seen.headers['x-reelmesh-peer']).toBe(OWNER);
    expect(JSON.stringify(policy.inputs.at(-1))).not.toContain(ownerToken);
    expect(JSON.stringify(policy.inputs.at(-1))).not.toContain(POD_TOKEN_HEADER);
  });

  it("never lets a remote caller's own x-reelmesh-pod-token reach the app", async () => {
    const svid = await ca.issue({ spiffeId: OWNER });
    const forged = token();
    const before = vfxApp.seen.length;
    const reply = await mtlsCall(vfx.inboundPort, { key: svid.keyPem, cert: svid.chainPem, ca: ca.bundlePem }, { path: HANDOFF, host: 'vfx-1', headers: { [POD_TOKEN_HEADER]: forged } });
    expect(reply.status).toBe(200);
    expect(vfxApp.seen[before].headers[POD_TOKEN_HEADER]).toBe(vfxToken);
    expect(JSON.stringify(policy.inputs.at(-1))).not.toContain(forged);
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { [POD_TOKEN_HEADER]: token() }],
    ["another pod's token", { [POD_TOKEN_HEADER]: vfxToken }],
    ['an empty token', { [POD_TOKEN_HEADER]: '' }],
  ])('the outbound listener refuses a request with %s: 403 POD_PRIVATE, access-logged, nothing sent on', async (_name, headers) => {
    const before = vfxApp.seen.length;
    const reply = await send(headers);
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toEqual({ error: { code: 'POD_PRIVATE', message: "this listener takes requests only from its own pod's app" } });
    expect(log.at(-1)).toMatchObject({ direction: 'outbound', source: OWNER, destination: 'vfx-1', path: HANDOFF, decision: 'deny', status: 403, reason: 'missing or wrong pod token' });
    expect(vfxApp.seen.length).toBe(before);
  });

  it('answers a caller still streaming a large body with the 403 itself, not a reset connection (a sender would retry that)', async () => {
    const streamed = () =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ ...connectOptions(owner.outboundUrl), method: 'POST', path: HANDOFF, headers: { host: 'vfx-1' } }, (res) => {
          // Answered early: stop sending, as sendChunk does.
          res.resume().on('end', () => {
            req.destroy();
            resolve(res.statusCode ?? 0);
          });
        });
        req.on('error', reject);
        // Part after part, as sendChunk streams a chunk: still writing when the answer comes.
        pipeline(Readable.from((function* () { for (let i = 0; i < 16; i++) yield randomBytes(512 * 1024); })()), req).catch(reject);
      });
    for (let i = 0; i < 3; i++) expect(await streamed()).toBe(403);
  });

  it('writes no token to the access log', () => {
    const lines = JSON.stringify(log);
    expect(lines).not.toContain(ownerToken);
    expect(lines).not.toContain(vfxToken);
  });

  it("never forwards the pod's token out of the pod, nor back in a response", () => {
    expect(forwardableHeaders({ host: 'vfx-1', [POD_TOKEN_HEADER]: ownerToken, 'x-request-id': 'r1' })).toEqual({ host: 'vfx-1', 'x-request-id': 'r1' });
  });

  it('refuses a pod token short enough to guess', async () => {
    await expect(startProxy({ agent: 'owner', svidSource: owner.svidSource, registry: new MemoryRegistry(), insecureSkipPolicy: true, appUrl: ownerApp.url, podToken: 'short' })).rejects.toThrow(
      /podToken must be at least 32 characters/,
    );
  });
});
