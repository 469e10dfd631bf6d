// The local proxy's path semantics (Istio DECODE_AND_MERGE_SLASHES, @reelmesh/addressing
// normalizeRequestPath), through a real proxy pair: the policy judges the normalised path and the app
// gets that same path, on the outbound side and on the inbound side (a peer calling the inbound
// listener directly with a raw path); a path that cannot be normalised reaches neither.
import { normalizeRequestPath } from '@reelmesh/addressing';
import { request as rawRequest } from '@reelmesh/http-kit';
import { SvidSource } from '@reelmesh/workload-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, type Ca, type Svid } from '../ca/ca';
import { MemoryRegistry } from '../control-plane/registry';
import { collectAccessLog, mtlsCall, startEchoApp, startOpaShapedPolicy, HANDOFF, OWNER, TD, VFX1, type EchoApp, type FakeOpa } from '../testing/fixtures';
import { startProxy, type RunningProxy } from './proxy';

// A policy that matches the RAW path it is given, exactly: only the canonical handoff from the owner.
const exactHandoff = (input: { attributes: { source: { principal: string }; request: { http: { path: string } } } }) =>
  input.attributes.source.principal === OWNER && input.attributes.request.http.path === HANDOFF
    ? { allowed: true, reason: 'edge' }
    : { allowed: false, reason: `not the handoff: ${input.attributes.request.http.path}` };

/** Variants of HANDOFF that normalise to it: the adversarial shapes Istio normalises before policy. */
const [, , , workflowId, step, artifact, chunk] = HANDOFF.split('/');
const VARIANTS = [
  `/${HANDOFF}`, // '//' at the start
  `/v1//handoffs/${workflowId}/${step}/${artifact}/${chunk}`, // '//' inside
  `/v1/handoffs/${workflowId}/${step}%2F${artifact}/${chunk}`, // %2F
  `/v1/handoffs/${workflowId}/${step}%2f${artifact}%5C${chunk}`, // %2f, %5C
  `/v1/handoffs/other/../${workflowId}/${step}/${artifact}/${chunk}`, // ..
  `/v1/handoffs/other/%2e%2e/${workflowId}/${step}/${artifact}/./${chunk}`, // %2e%2e, .
  `/v1/handoffs/${workflowId}/%${step.charCodeAt(0).toString(16)}${step.slice(1)}/${artifact}/${chunk}`, // an unreserved letter percent-encoded
  `/v1\\handoffs\\${workflowId}/${step}/${artifact}/${chunk}`, // backslashes
];

describe('path normalisation in the proxy pair (real TLS, real sockets)', () => {
  let ca: Ca;
  let policy: FakeOpa;
  let vfxApp: EchoApp;
  let vfx: RunningProxy;
  let owner: RunningProxy;
  let ownerSvid: Svid;
  const { stream: accessLog, entries: log } = collectAccessLog();

  beforeAll(async () => {
    ca = await createCa({ trustDomain: TD });
    policy = await startOpaShapedPolicy(exactHandoff);
    vfxApp = await startEchoApp();
    const registry = new MemoryRegistry();
    vfx = await startProxy({ agent: 'vfx-1', spiffeId: VFX1, svidSource: await SvidSource.fromIssuer(ca, VFX1), registry, policyUrl: policy.url, appUrl: vfxApp.url, accessLog });
    registry.register({ agent: 'vfx-1', spiffeId: VFX1, host: '127.0.0.1', port: vfx.inboundPort });
    owner = await startProxy({ agent: 'owner', spiffeId: OWNER, svidSource: await SvidSource.fromIssuer(ca, OWNER), registry, policyUrl: policy.url, appUrl: vfxApp.url, accessLog });
    ownerSvid = await ca.issue({ spiffeId: OWNER });
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    vfx?.svidSource.stop();
    owner?.svidSource.stop();
    await Promise.all([policy?.close(), vfxApp?.close()]);
  });

  /** The owner's app calling out through its sidecar with this exact request target. */
  const viaOutbound = async (path: string) => {
    const reply = await rawRequest(owner.outboundUrl, path, { method: 'POST', headers: { host: 'vfx-1' }, body: Buffer.from('chunk') });
    return { status: reply.status, body: reply.body.toString('utf8') };
  };
  /** Another pod with the owner's certificate calling vfx-1's inbound listener with this exact target. */
  const viaInbound = (path: string) =>
    mtlsCall(vfx.inboundPort, { key: ownerSvid.keyPem, cert: ownerSvid.chainPem, ca: ca.bundlePem }, { path, host: 'vfx-1' });

  it('the variants are what the test says: each differs from the handoff and normalises to it', () => {
    for (const variant of VARIANTS) {
      expect(variant).not.toBe(HANDOFF);
      expect(normalizeRequestPath(variant)).toMatchObject({ ok: true, target: HANDOFF });
    }
  });

  for (const [side, call] of [
    ['outbound', viaOutbound],
    ['inbound', viaInbound],
  ] as const) {
    it(`${side}: every variant reaches the policy and the app as the canonical handoff path`, async () => {
      for (const variant of VARIANTS) {
        const inputs = policy.inputs.length;
        const seen = vfxApp.seen.length;
        const logged = log.length;
        const reply = await call(variant);
        expect(reply.status, variant).toBe(200);
        // What travelled between the sidecars: the outbound side already sent the normalised path.
        const inboundPaths = log.slice(logged).filter((e) => e.direction === 'inbound').map((e) => e.path);
        expect(inboundPaths, variant).toEqual([side === 'outbound' ? HANDOFF : variant]);
        const asked = policy.inputs.slice(inputs);
        expect(asked.length, variant).toBeGreaterThan(0);
        for (const input of asked) {
          expect(input.attributes.request.http.path, variant).toBe(HANDOFF);
          expect(input.attributes.request.http.headers[':path'], variant).toBe(HANDOFF);
          expect(input.parsed_path, variant).toEqual(HANDOFF.slice(1).split('/'));
        }
        expect(vfxApp.seen.slice(seen).map((s) => s.url), variant).toEqual([HANDOFF]);
      }
    });

    it(`${side}: /handoff/../admin is judged as /admin (denied) and the query string is kept apart`, async () => {
      const inputs = policy.inputs.length;
      const seen = vfxApp.seen.length;
      const denied = await call('/handoff/../admin');
      expect(denied.status).toBe(403);
      expect(policy.inputs.slice(inputs).map((i) => i.attributes.request.http.path)).toContain('/admin');
      expect(policy.inputs.slice(inputs).map((i) => i.attributes.request.http.path)).not.toContain('/handoff/../admin');
      expect(vfxApp.seen.length).toBe(seen);

      const withQuery = await call(`/${HANDOFF}?next=..//x`);
      expect(withQuery.status).toBe(403); // the exact-path policy does not allow a query
      expect(policy.inputs.at(-1)!.attributes.request.http.path).toBe(`${HANDOFF}?next=..//x`);
    });

    it(`${side}: %00, a bad escape or a fragment is 400 PATH_NOT_NORMALIZABLE and reaches neither policy nor app`, async () => {
      for (const bad of [`${HANDOFF}%00`, `/v1/handoffs/%zz/${step}`, `/v1/%2e%00./x`]) {
        const inputs = policy.inputs.length;
        const seen = vfxApp.seen.length;
        const logged = log.length;
        const reply = await call(bad);
        expect(reply.status, bad).toBe(400);
        // Refused by the side that got it first: nothing was sent on from there.
        expect(log.slice(logged).map((e) => [e.direction, e.decision]), bad).toEqual([[side, 'bad_request']]);
        expect(JSON.parse(reply.body).error.code, bad).toBe('PATH_NOT_NORMALIZABLE');
        expect(policy.inputs.length, bad).toBe(inputs);
        expect(vfxApp.seen.length, bad).toBe(seen);
      }
    });
  }
});
