import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '@reelmesh/http-kit';
import { createCheckServer, type CheckServer } from '@reelmesh/policy';
import type { OpaInput } from './opa-input';
import { createCa, type Ca, type Svid } from '../ca/ca';
import { SvidSource } from '@reelmesh/workload-identity';
import { MemoryRegistry } from '../control-plane/registry';
import { collectAccessLog, mtlsCall, request, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa, type MtlsCallOptions, type TlsClientIdentity, TD, OWNER, VFX1, HANDOFF } from '../testing/fixtures';
import { startProxy, type RunningProxy } from './proxy';

const SOUND = `spiffe://${TD}/ns/sound/sa/sound`;

// Policy: only owner may POST a handoff to vfx-1.
const workflowPolicy = (input: { attributes: { source: { principal: string }; request: { http: { method: string } } }; parsed_path: string[] }) =>
  input.attributes.source.principal === OWNER && input.attributes.request.http.method === 'POST' && input.parsed_path[1] === 'handoffs'
    ? { allowed: true, reason: 'edge owner->vfx-1' }
    : { allowed: false, reason: `no edge from ${input.attributes.source.principal}` };

/** Calls vfx-1's inbound mTLS listener directly, as some other pod (or attacker) would. */
const tlsCall = (port: number, tlsOpts: TlsClientIdentity, opts: MtlsCallOptions = {}) => mtlsCall(port, tlsOpts, { path: HANDOFF, host: 'vfx-1', ...opts });

describe('proxy sidecar pair (real TLS, real sockets)', () => {
  let ca: Ca;
  let policy: FakeOpa;
  let vfxApp: EchoApp;
  let ownerApp: EchoApp;
  let vfx: RunningProxy;
  let owner: RunningProxy;
  let registry: MemoryRegistry;
  let ownerSvid: Svid;
  const { stream: accessLog, entries: log } = collectAccessLog();

  beforeAll(async () => {
    ca = await createCa({ trustDomain: TD });
    policy = await startOpaShapedPolicy(workflowPolicy);
    [vfxApp, ownerApp] = await Promise.all([startEchoApp(), startEchoApp()]);
    registry = new MemoryRegistry();
    vfx = await startProxy({
      agent: 'vfx-1',
      spiffeId: VFX1,
      svidSource: await SvidSource.fromIssuer(ca, VFX1),
      registry,
      policyUrl: policy.url,
      policyTimeoutMs: 150,
      appUrl: vfxApp.url,
      health: '127.0.0.1:0',
      accessLog,
    });
    registry.register({ agent: 'vfx-1', spiffeId: VFX1, host: '127.0.0.1', port: vfx.inboundPort });
    owner = await startProxy({
      agent: 'owner',
      spiffeId: OWNER,
      svidSource: await SvidSource.fromIssuer(ca, OWNER),
      registry,
      policyUrl: policy.url,
      appUrl: ownerApp.url,
      accessLog,
    });
    ownerSvid = await ca.issue({ spiffeId: OWNER });
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    vfx.svidSource.stop();
    owner.svidSource.stop();
    await Promise.all([policy?.close(), vfxApp?.close(), ownerApp?.close()]);
  });

  const send = (path = HANDOFF, headers: Record<string, string> = {}) =>
    request(`${owner.outboundUrl}${path}`, { method: 'POST', headers: { host: 'vfx-1', ...headers }, body: 'chunk-bytes' });

  it('an allowed call reaches the app with x-reelmesh-peer set from the certificate', async () => {
    const before = vfxApp.seen.length;
    const reply = await send(`${HANDOFF}?retry=1&retry=2`);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ peer: OWNER, bytes: 11 });
    const seen = vfxApp.seen[before];
    expect(seen.headers['x-reelmesh-peer']).toBe(OWNER);
    expect(seen.url).toBe(`${HANDOFF}?retry=1&retry=2`);

    // The policy saw the opa-envoy-plugin input document.
    const input = policy.inputs.at(-1)!;
    expect(input.attributes.source.principal).toBe(OWNER);
    expect(input.attributes.destination.principal).toBe(VFX1);
    expect(input.attributes.request.http).toMatchObject({ method: 'POST', path: `${HANDOFF}?retry=1&retry=2`, host: 'vfx-1' });
    expect(input.parsed_path).toEqual(['v1', 'handoffs', 'wf-1', 'demux', 'av', '0']);
    expect(input.parsed_query).toEqual({ retry: ['1', '2'] });
    expect(input.attributes.request.http.headers).toMatchObject({
      ':authority': 'vfx-1',
      ':method': 'POST',
      ':path': `${HANDOFF}?retry=1&retry=2`,
      'content-length': '11',
    });

    const lines = log.filter((l) => l.path === `${HANDOFF}?retry=1&retry=2`);
    expect(lines.map((l) => l.direction).sort()).toEqual(['inbound', 'outbound']);
    const inbound = lines.find((l) => l.direction === 'inbound')!;
    expect(inbound).toMatchObject({ source: OWNER, destination: VFX1, method: 'POST', decision: 'allow', status: 200 });
    expect(inbound.bytes).toBeGreaterThan(11);
  });

  it('rejects the handshake when the caller has no client certificate', async () => {
    const before = vfxApp.seen.length;
    await expect(tlsCall(vfx.inboundPort, { ca: ca.bundlePem })).rejects.toThrow(/certificate required|ECONNRESET|socket hang up/i);
    expect(vfxApp.seen.length).toBe(before);
  });

  it('rejects a certificate from another CA, even with the right SPIFFE id', async () => {
    const rogue = await (await createCa({ trustDomain: TD })).issue({ spiffeId: OWNER });
    const before = vfxApp.seen.length;
    await expect(
      tlsCall(vfx.inboundPort, { key: rogue.keyPem, cert: rogue.chainPem, ca: ca.bundlePem }),
    ).rejects.toThrow(/unknown ca|ECONNRESET|socket hang up|decrypt error/i);
    expect(vfxApp.seen.length).toBe(before);
  });

  it('rejects an expired certificate from the mesh CA', async () => {
    const expired = await ca.issue({ spiffeId: OWNER, ttlSeconds: 60, notBefore: new Date(Date.now() - 3_600_000) });
    expect(expired.notAfter.getTime()).toBeLessThan(Date.now());
    const before = vfxApp.seen.length;
    await expect(
      tlsCall(vfx.inboundPort, { key: expired.keyPem, cert: expired.chainPem, ca: ca.bundlePem }),
    ).rejects.toThrow(/certificate expired|ECONNRESET|socket hang up/i);
    expect(vfxApp.seen.length).toBe(before);
  });

  it('a valid certificate whose SPIFFE id the policy does not allow gets 403 and never reaches the app', async () => {
    const sound = await ca.issue({ spiffeId: SOUND });
    const before = vfxApp.seen.length;
    const reply = await tlsCall(vfx.inboundPort, { key: sound.keyPem, cert: sound.chainPem, ca: ca.bundlePem });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toEqual({ error: { code: 'POLICY_DENIED', message: `no edge from ${SOUND}` } });
    expect(vfxApp.seen.length).toBe(before);
    expect(log.at(-1)).toMatchObject({ direction: 'inbound', source: SOUND, decision: 'deny', status: 403 });
  });

  it('strips forged identity headers: the identity still comes only from the certificate', async () => {
    const sound = await ca.issue({ spiffeId: SOUND });
    const forged = {
      'x-forwarded-client-cert': `By=${VFX1};URI=${OWNER}`,
      authorization: `Basic ${Buffer.from('owner:owner').toString('base64')}`,
      'x-reelmesh-peer': OWNER,
      'x-reelmesh-identity': OWNER,
    };
    // A denied caller cannot talk its way in by claiming to be the owner...
    const denied = await tlsCall(vfx.inboundPort, { key: sound.keyPem, cert: sound.chainPem, ca: ca.bundlePem }, { headers: forged });
    expect(denied.status).toBe(403);
    const deniedInput = policy.inputs.at(-1)!;
    expect(deniedInput.attributes.source.principal).toBe(SOUND);
    for (const h of Object.keys(forged)) expect(deniedInput.attributes.request.http.headers).not.toHaveProperty(h);

    // ...and an allowed caller's forged claims never reach the app.
    const before = vfxApp.seen.length;
    const ok = await tlsCall(
      vfx.inboundPort,
      { key: ownerSvid.keyPem, cert: ownerSvid.chainPem, ca: ca.bundlePem },
      { headers: { ...forged, 'x-reelmesh-peer': SOUND } },
    );
    expect(ok.status).toBe(200);
    const seen = vfxApp.seen[before];
    expect(seen.headers['x-reelmesh-peer']).toBe(OWNER);
    expect(seen.headers).not.toHaveProperty('x-forwarded-client-cert');
    expect(seen.headers).not.toHaveProperty('authorization');
    expect(seen.headers).not.toHaveProperty('x-reelmesh-identity');
  });

  it('outbound to an unregistered destination answers 502 UNKNOWN_DESTINATION and logs it', async () => {
    const reply = await request(`${owner.outboundUrl}/anything`, { method: 'POST', headers: { host: 'evil.example.com' }, body: 'x' });
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body).error.code).toBe('UNKNOWN_DESTINATION');
    expect(log.at(-1)).toMatchObject({
      direction: 'outbound',
      source: OWNER,
      destination: 'evil.example.com',
      decision: 'unknown_destination',
      status: 502,
    });
  });

  it('refuses an outbound hop when the server presents a different SPIFFE id than the registry lists', async () => {
    // "color" is registered at vfx-1's address: a hijacked endpoint. vfx-1's cert must not pass as color.
    registry.register({ agent: 'color', spiffeId: `spiffe://${TD}/ns/color/sa/color`, host: '127.0.0.1', port: vfx.inboundPort });
    const before = vfxApp.seen.length;
    const reply = await request(`${owner.outboundUrl}${HANDOFF}`, { method: 'POST', headers: { host: 'color' }, body: 'x' });
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body).error.code).toBe('UPSTREAM_IDENTITY_MISMATCH');
    expect(vfxApp.seen.length).toBe(before);
    registry.unregister('color');
  });

  it.each([
    ['hanging', 'hang' as const],
    ['answering HTTP 500', 'http500' as const],
    ['answering a malformed result', 'malformed' as const],
    ['holding no policy yet (restarted)', () => ({ allowed: false, reason: 'policy_not_loaded' })],
  ])('fails closed with 503 POLICY_UNAVAILABLE (retryable, never forwarded) when the policy sidecar is %s', async (_name, behaviour) => {
    policy.setBehaviour(behaviour);
    try {
      const before = vfxApp.seen.length;
      const reply = await send();
      expect(reply.status).toBe(503);
      expect(JSON.parse(reply.body).error.code).toBe('POLICY_UNAVAILABLE');
      expect(vfxApp.seen.length).toBe(before);
    } finally {
      policy.setBehaviour(workflowPolicy);
    }
  });

  it('serves /health on its own plain loopback port, not through the mTLS listener', async () => {
    const health = await request(`${vfx.endpoints.health}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', spiffeId: VFX1 });
    // On the mTLS port /health is just another request the policy decides on (denied here).
    const viaMesh = await tlsCall(vfx.inboundPort, { key: ownerSvid.keyPem, cert: ownerSvid.chainPem, ca: ca.bundlePem }, { method: 'GET', path: '/health' });
    expect(viaMesh.status).toBe(403);
  });

  // Last: it kills the policy sidecar.
  it('fails closed with 503 POLICY_UNAVAILABLE when the policy sidecar is killed', async () => {
    await policy.close();
    const before = vfxApp.seen.length;
    const reply = await send();
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body).error.code).toBe('POLICY_UNAVAILABLE');
    expect(vfxApp.seen.length).toBe(before);
    expect(log.at(-2)).toMatchObject({ direction: 'inbound', decision: 'policy_unavailable', status: 503 });
  });
});

describe('proxy sidecar asking on the check socket', () => {
  let ca: Ca;
  let dir: string;
  let app: EchoApp;
  let vfx: RunningProxy;
  let checks: CheckServer;
  const asked: OpaInput[] = [];
  const { stream: accessLog, entries: log } = collectAccessLog();

  beforeAll(async () => {
    ca = await createCa({ trustDomain: TD });
    dir = mkdtempSync(join(tmpdir(), 'rm-proxy-check-'));
    checks = createCheckServer((input) => {
      asked.push(input as OpaInput);
      return { decision_id: 'd', result: workflowPolicy(input as Parameters<typeof workflowPolicy>[0]) };
    });
    const address = await listen(checks.server, `unix:${join(dir, 'check.sock')}`);
    app = await startEchoApp();
    vfx = await startProxy({ agent: 'vfx-1', spiffeId: VFX1, svidSource: await SvidSource.fromIssuer(ca, VFX1), registry: new MemoryRegistry(), policyCheck: address, appUrl: app.url, accessLog });
  });

  afterAll(async () => {
    await vfx?.close();
    vfx?.svidSource.stop();
    await Promise.all([checks?.close(), app?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards what the check socket allows with the input OPA would get, refuses the rest, fails closed when it goes away', async () => {
    const owner = await ca.issue({ spiffeId: OWNER });
    const sound = await ca.issue({ spiffeId: SOUND });
    const allowed = await tlsCall(vfx.inboundPort, { key: owner.keyPem, cert: owner.chainPem, ca: ca.bundlePem });
    expect(allowed.status).toBe(200);
    expect(app.seen.at(-1)?.headers['x-reelmesh-peer']).toBe(OWNER);
    expect(asked.at(-1)).toMatchObject({ attributes: { source: { principal: OWNER }, destination: { principal: VFX1 }, request: { http: { method: 'POST', path: HANDOFF } } }, parsed_path: expect.any(Array) });

    const seen = app.seen.length;
    const denied = await tlsCall(vfx.inboundPort, { key: sound.keyPem, cert: sound.chainPem, ca: ca.bundlePem });
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).error).toEqual({ code: 'POLICY_DENIED', message: `no edge from ${SOUND}` });

    await checks.close();
    const away = await tlsCall(vfx.inboundPort, { key: owner.keyPem, cert: owner.chainPem, ca: ca.bundlePem });
    expect(away.status).toBe(503);
    expect(JSON.parse(away.body).error.code).toBe('POLICY_UNAVAILABLE');
    expect(app.seen.length).toBe(seen);
    expect(log.at(-1)).toMatchObject({ direction: 'inbound', decision: 'policy_unavailable', status: 503 });
  });

  it('takes exactly one way to ask', async () => {
    const base = { agent: 'vfx-1', svidSource: await SvidSource.fromIssuer(ca, VFX1), registry: new MemoryRegistry(), appUrl: app.url };
    await expect(startProxy({ ...base, policyUrl: 'http://127.0.0.1:1', policyCheck: `unix:${join(dir, 'x.sock')}` })).rejects.toThrow(/exactly one of policyUrl, policyCheck, insecureSkipPolicy/);
    await expect(startProxy(base)).rejects.toThrow(/policyUrl or policyCheck is required/);
    base.svidSource.stop();
  });
});
