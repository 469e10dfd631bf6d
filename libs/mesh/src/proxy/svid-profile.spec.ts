// The X.509-SVID profile at the proxies: a leaf that breaks each rule, signed by the mesh CA's own
// root, is refused as a client certificate by a real inbound proxy and as a server certificate by a
// real outbound proxy (real TLS, real sockets). OpenSSL refuses some of them itself (a path-length
// violation, an intermediate that is no CA, a key purpose it checks): refused either way.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listen } from '@reelmesh/http-kit';
import { SvidSource, type Svid } from '@reelmesh/workload-identity';
import { mintSvidVariants, testCaFromPem, type SvidVariant } from '@reelmesh/workload-identity/testing';
import { createCa, type Ca } from '../ca/ca';
import { MemoryRegistry } from '../control-plane/registry';
import { collectAccessLog, mtlsCall, request, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa, TD, OWNER, VFX1, HANDOFF, ownerToVfx1Only } from '../testing/fixtures';
import { startProxy, type RunningProxy } from './proxy';
import { peerOf, peerRefusalOf, pinPeerIdentity } from './tls-peer';

/** Rules OpenSSL never checks: a refusal for them can only be ours. */
const OURS_ALONE = ['uri-san-count', 'spiffe-id', 'trust-domain'];

describe('certificate rules at the proxies (the mesh CA root signs every bad leaf)', () => {
  let dir: string;
  let ca: Ca;
  let clientVariants: SvidVariant[];
  let serverVariants: SvidVariant[];
  let goodClient: Svid;
  let goodServer: Svid;
  let policy: FakeOpa;
  let vfxApp: EchoApp;
  let vfx: RunningProxy;
  let owner: RunningProxy;
  let registry: MemoryRegistry;
  const { stream: accessLog, entries: log } = collectAccessLog();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svid-profile-'));
    ca = await createCa({ trustDomain: TD, dir });
    const [certPem, keyPem] = await Promise.all([readFile(join(dir, 'ca-cert.pem'), 'utf8'), readFile(join(dir, 'ca-key.pem'), 'utf8')]);
    const root = await testCaFromPem({ trustDomain: TD, certPem, keyPem });
    [clientVariants, serverVariants, goodClient, goodServer] = await Promise.all([
      mintSvidVariants(root, OWNER),
      mintSvidVariants(root, VFX1),
      root.issue({ spiffeId: OWNER }),
      root.issue({ spiffeId: VFX1 }),
    ]);
    policy = await startOpaShapedPolicy(ownerToVfx1Only);
    vfxApp = await startEchoApp();
    registry = new MemoryRegistry();
    const pod = async (agent: string, spiffeId: string) =>
      startProxy({ agent, spiffeId, svidSource: await SvidSource.fromIssuer(ca, spiffeId), registry, policyUrl: policy.url, appUrl: vfxApp.url, accessLog });
    [vfx, owner] = await Promise.all([pod('vfx-1', VFX1), pod('owner', OWNER)]);
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    vfx?.svidSource.stop();
    owner?.svidSource.stop();
    await Promise.all([policy?.close(), vfxApp?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  const asClient = (svid: Svid) => mtlsCall(vfx.inboundPort, { key: svid.keyPem, cert: svid.chainPem, ca: ca.bundlePem }, { path: HANDOFF, host: 'vfx-1' });

  describe('inbound: the client certificate', () => {
    it('the good leaf from the same root reaches the app', async () => {
      const before = vfxApp.seen.length;
      expect((await asClient(goodClient)).status).toBe(200);
      expect(vfxApp.seen.length).toBe(before + 1);
    });

    it('every leaf that breaks a rule for a TLS client is disconnected before any request reaches the app', async () => {
      const refused = clientVariants.filter((v) => v.refusedFor.includes('tls-client'));
      expect(refused.length).toBeGreaterThanOrEqual(15);
      const before = vfxApp.seen.length;
      const outcomes = await Promise.all(
        refused.map(async (v) => [v.name, await asClient(v.svid).then((reply) => `answered ${reply.status}`, () => 'refused')] as const),
      );
      expect(Object.fromEntries(outcomes)).toEqual(Object.fromEntries(refused.map((v) => [v.name, 'refused'])));
      expect(vfxApp.seen.length).toBe(before);
      // What OpenSSL let through and the profile refused is in the access log, with its rule.
      const logged = log.filter((l) => l.decision === 'peer_refused');
      for (const rule of OURS_ALONE) expect(logged.some((l) => l.reason?.startsWith('client certificate refused: ') && l.reason.endsWith(`[${rule}]`)), rule).toBe(true);
      expect(logged.every((l) => l.direction === 'inbound' && l.destination === VFX1 && l.status === 0)).toBe(true);
    });

    it('a leaf fit for TLS but not for signing is still a good client (only the use at hand counts)', async () => {
      const tlsOnly = clientVariants.find((v) => v.refusedFor.length === 1 && v.refusedFor[0] === 'signing')!;
      expect((await asClient(tlsOnly.svid)).status).toBe(200);
    });
  });

  describe('pinPeerIdentity names the rule a client certificate breaks', () => {
    /** A bare mTLS server that pins like the inbound proxy and answers what it concluded. */
    async function pinningServer(roots: string | undefined) {
      const server = https.createServer(
        { key: goodServer.keyPem, cert: goodServer.chainPem, ca: ca.bundlePem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
        (req, res) => res.end(JSON.stringify({ peer: peerOf(req.socket)?.spiffeId ?? null, rule: peerRefusalOf(req.socket)?.rule ?? null })),
      );
      server.prependListener('secureConnection', (socket) => pinPeerIdentity(socket, TD, roots));
      const port = Number(new URL(await listen(server, '127.0.0.1:0', 'https')).port);
      return { port, close: () => closeServer(server, 0) };
    }

    it.each([
      ['the trust bundle', true],
      ['the root OpenSSL anchored to', false],
    ])('with %s as the root to reach: the good leaf pinned, each bad one refused by OpenSSL or with its own rule', async (_name, withBundle) => {
      const server = await pinningServer(withBundle ? ca.bundlePem : undefined);
      try {
        const call = (svid: Svid) =>
          mtlsCall(server.port, { key: svid.keyPem, cert: svid.chainPem, ca: ca.bundlePem }).then((r) => JSON.parse(r.body) as { peer: string | null; rule: string | null }, () => 'openssl' as const);
        expect(await call(goodClient)).toEqual({ peer: OWNER, rule: null });
        const refused = clientVariants.filter((v) => v.refusedFor.includes('tls-client'));
        const outcomes = await Promise.all(refused.map(async (v) => ({ variant: v.name, rule: v.rule, outcome: await call(v.svid) })));
        for (const { variant, rule, outcome } of outcomes) {
          expect({ variant, outcome }).toEqual({ variant, outcome: outcome === 'openssl' ? 'openssl' : { peer: null, rule } });
        }
        const ours = new Set(outcomes.filter((o) => o.outcome !== 'openssl').map((o) => o.rule));
        for (const rule of OURS_ALONE) expect(ours).toContain(rule);
      } finally {
        await server.close();
      }
    });
  });

  describe('outbound: the server certificate', () => {
    /** A destination that presents `svid` as its server certificate and counts what reaches it. */
    async function impostor(agent: string, svid: Svid) {
      let reached = 0;
      const server = https.createServer({ key: svid.keyPem, cert: svid.chainPem, minVersion: 'TLSv1.3' }, (req, res) => {
        reached++;
        req.resume();
        res.end('delivered');
      });
      const port = Number(new URL(await listen(server, '127.0.0.1:0', 'https')).port);
      registry.register({ agent, spiffeId: svid.spiffeId, host: '127.0.0.1', port });
      return { reached: () => reached, close: () => closeServer(server, 0) };
    }
    const send = (agent: string) => request(`${owner.outboundUrl}${HANDOFF}`, { method: 'POST', headers: { host: agent }, body: 'chunk-bytes' });

    it('the good leaf from the same root is a good destination', async () => {
      const server = await impostor('good-server', goodServer);
      try {
        const reply = await send('good-server');
        expect(reply).toMatchObject({ status: 200, body: 'delivered' });
        expect(server.reached()).toBe(1);
      } finally {
        await server.close();
      }
    });

    it('every leaf that breaks a rule for a TLS server gets the app 502 and the destination no bytes; the log names the rule', async () => {
      const refused = serverVariants.filter((v) => v.refusedFor.includes('tls-server'));
      expect(refused.length).toBeGreaterThanOrEqual(15);
      const ours = new Set<string>();
      for (const [i, v] of refused.entries()) {
        const agent = `bad-server-${i}`;
        const server = await impostor(agent, v.svid);
        try {
          const reply = await send(agent);
          const error = (JSON.parse(reply.body) as { error: { code: string; message: string } }).error;
          expect({ variant: v.name, status: reply.status, tls: ['UPSTREAM_IDENTITY_MISMATCH', 'UPSTREAM_TLS_FAILED'].includes(error.code) }).toEqual({ variant: v.name, status: 502, tls: true });
          expect({ variant: v.name, reached: server.reached() }).toEqual({ variant: v.name, reached: 0 });
          if (error.code === 'UPSTREAM_IDENTITY_MISMATCH') {
            expect(error.message).toMatch(new RegExp(`^server certificate refused: .*\\[${v.rule}\\]$`));
            expect(log.filter((l) => l.direction === 'outbound').at(-1)).toMatchObject({ status: 502, decision: 'upstream_error', reason: error.message });
            ours.add(v.rule);
          }
        } finally {
          await server.close();
        }
      }
      for (const rule of OURS_ALONE) expect(ours).toContain(rule);
    });
  });
});
