// The control plane behind its own sidecar (Compose: Envoy; Istio: istio-proxy): with
// `meshIdentity` a caller without a token is the SPIFFE id the sidecar wrote in
// x-forwarded-client-cert; without it that header means nothing. OPA's decision logs arrive on
// POST /logs. The "sidecar" here is a plain HTTP hop that sets the header the way Envoy's
// SANITIZE_SET does (replacing whatever the client sent).
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ENV, auditTrailFromEnv, loadSigningIdentity } from '@reelmesh/agent-kit';
import { closeServer, listen } from '@reelmesh/http-kit';
import { LEDGER_AGENT, LEDGER_LOG, verifyAuditLog, type AuditEntry } from '@reelmesh/provenance';
import { FsObjectStore } from '@reelmesh/storage';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { request } from '../testing/fixtures';
import { startControlPlane, type ControlPlane } from './server';
import { parseXfcc, xfccSpiffeId } from './xfcc';

const TD = 'reelmesh.local';
const VFX1 = `spiffe://${TD}/ns/vfx/sa/vfx-1`;
const OWNER = `spiffe://${TD}/ns/owner/sa/owner`;
const xfcc = (uri: string) => `By=spiffe://${TD}/ns/owner/sa/control-plane;Hash=5f2b0a;Subject="O=ReelMesh,CN=x";URI=${uri}`;
const json = (body: string) => JSON.parse(body) as { error?: { code: string; message: string } } & Record<string, unknown>;

/** A sidecar in front of the control plane for one client identity: it sets XFCC and records what it forwarded. */
async function sidecarFor(cpUrl: string, spiffeId: string) {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const upstream = http.request(`${cpUrl}${req.url}`, { method: req.method, headers: { ...req.headers, 'x-forwarded-client-cert': xfcc(spiffeId) } }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const url = await listen(server, '127.0.0.1:0');
  return { url, seen, close: () => closeServer(server, 0) };
}

describe('x-forwarded-client-cert parsing', () => {
  it('reads quoted values and takes the last element (the one the sidecar appended)', () => {
    expect(xfccSpiffeId(xfcc(VFX1))).toBe(VFX1);
    expect(xfccSpiffeId(`URI=${OWNER};By=x,${xfcc(VFX1)}`)).toBe(VFX1);
    expect(parseXfcc('Subject="a,b;c=\\"d\\"";URI=u').at(-1)!.get('subject')).toEqual(['a,b;c="d"']);
    // Istio's element: an empty quoted Subject, a hash, the client's URI.
    expect(xfccSpiffeId(`By=spiffe://${TD}/ns/owner/sa/control-plane;Hash=468ed33be74eee65;Subject="";URI=${VFX1}`)).toBe(VFX1);
  });

  it('refuses a malformed value, or an element with no URI or two', () => {
    for (const bad of ['', 'URI', 'URI="open', 'By=a;URI=u"x', `By=x;Hash=y`, `URI=${VFX1};URI=${OWNER}`, `${xfcc(VFX1)},By=x`]) {
      expect(() => xfccSpiffeId(bad), bad).toThrow(/x-forwarded-client-cert/);
    }
  });
});

describe('a control plane without --mesh-identity ignores x-forwarded-client-cert', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({ trustDomain: TD });
  });
  afterAll(() => cp.close());

  it('gives a forged header nothing, and a token holder only its own identity', async () => {
    for (const path of ['/v1/svid', '/logs', '/v1/audit/events']) {
      const res = await request(`${cp.url}${path}`, { method: 'POST', headers: { 'x-forwarded-client-cert': xfcc(OWNER), 'content-type': 'application/json' }, body: '[]' });
      expect({ path, status: res.status, code: json(res.body).error?.code }).toEqual({ path, status: 401, code: 'UNAUTHENTICATED' });
    }
    const vfx = cp.enroll({ actor: 'vfx', agent: 'vfx-1' });
    const res = await request(`${cp.url}/v1/svid`, { method: 'POST', headers: { authorization: `Bearer ${vfx.token}`, 'x-forwarded-client-cert': xfcc(OWNER) } });
    expect(res.status).toBe(200);
    expect(json(res.body).spiffeId).toBe(VFX1);
  });
});

describe('a control plane with mesh identity', () => {
  let cp: ControlPlane;
  let dir: string;
  const as = (spiffeId: string) => ({ 'x-forwarded-client-cert': xfcc(spiffeId) });
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reelmesh-cp-mesh-'));
    cp = await startControlPlane({ trustDomain: TD, meshIdentity: true, audit: { store: new FsObjectStore(dir), workflowId: 'feature-film', ownerActor: 'owner' } });
  });
  afterAll(async () => {
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  });

  const entries = async (): Promise<AuditEntry[]> => {
    await cp.ledger!.checkpoint();
    const seen: AuditEntry[] = [];
    const report = await verifyAuditLog({
      store: new FsObjectStore(dir), name: LEDGER_LOG, workflowId: 'feature-film', agent: LEDGER_AGENT, caBundle: cp.ca.bundlePem,
      checkpointSigner: `spiffe://${TD}/ns/owner/sa/audit-ledger`,
      onEntry: (e) => seen.push(e),
    });
    expect(report.ok).toBe(true);
    return seen;
  };

  it('issues the SVID of the identity the header names, to a caller with no token', async () => {
    const res = await request(`${cp.url}/v1/svid`, { method: 'POST', headers: as(VFX1) });
    expect(res.status).toBe(200);
    expect(json(res.body).spiffeId).toBe(VFX1);
  });

  it('refuses no header and a malformed one (401), another trust domain (403), all as JSON', async () => {
    const cases: Array<[Record<string, string>, number, string]> = [
      [{}, 401, 'UNAUTHENTICATED'],
      [{ 'x-forwarded-client-cert': 'URI="spiffe://x' }, 401, 'UNAUTHENTICATED'],
      [{ 'x-forwarded-client-cert': 'By=x;Hash=y' }, 401, 'UNAUTHENTICATED'],
      [{ 'x-forwarded-client-cert': 'URI=https://example.com/x' }, 401, 'UNAUTHENTICATED'],
      [as('spiffe://other.domain/ns/vfx/sa/vfx-1'), 403, 'FORBIDDEN'],
    ];
    for (const [headers, status, code] of cases) {
      const res = await request(`${cp.url}/v1/svid`, { method: 'POST', headers });
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect({ headers, status: res.status, code: json(res.body).error?.code }).toEqual({ headers, status, code });
    }
  });

  it('lets a mesh caller do nothing else: enrolment, registry, policy sidecars and the ledger state still need a token', async () => {
    const attempts: Array<[string, string]> = [['POST', '/v1/workloads'], ['GET', '/v1/registry'], ['PUT', '/v1/registry/vfx-1'], ['PUT', '/v1/policy-sidecars/vfx-1'], ['GET', '/v1/audit'], ['PUT', '/v1/policy/bundle']];
    for (const [method, path] of attempts) {
      const res = await request(`${cp.url}${path}`, { method, headers: { ...as(VFX1), 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      expect({ path, status: res.status, code: json(res.body).error?.code }).toEqual({ path, status: 403, code: 'FORBIDDEN' });
    }
    // The admin token works as before (the header beside it changes nothing).
    const admin = await request(`${cp.url}/v1/audit`, { headers: { authorization: `Bearer ${cp.adminToken}`, ...as(VFX1) } });
    expect(admin.status).toBe(200);
  });

  it("takes OPA's decision-log upload on POST /logs (gzip or plain), stamped with the caller, each decision once", async () => {
    const before = cp.ledger!.size;
    const decision = (id: string) => ({
      decision_id: id,
      labels: { id: 'opa-1', version: '1.9.0' },
      path: 'reelmesh/authz/allow',
      input: { attributes: { request: { http: { method: 'POST', path: '/v1/handoffs/x' } } } },
      erased: ['/input/attributes/request/http/headers/x-reelmesh-pod-token'],
      result: true,
      timestamp: new Date().toISOString(),
    });
    const gz = gzipSync(JSON.stringify([decision('d-1'), decision('d-2')]));
    const first = await request(`${cp.url}/logs`, { method: 'POST', headers: { ...as(VFX1), 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gz });
    expect(first.status).toBe(200);
    expect(json(first.body)).toMatchObject({ accepted: 2, duplicates: 0 });
    // OPA re-sends a batch it could not confirm: kept once.
    const again = await request(`${cp.url}/logs`, { method: 'POST', headers: { ...as(VFX1), 'content-encoding': 'gzip' }, body: gz });
    expect(json(again.body)).toMatchObject({ accepted: 0, duplicates: 2 });
    // A decision OPA could not evaluate has `error` and no `result`: kept too (refused, OPA would re-send it forever).
    const { result: _result, ...failed } = { ...decision('d-3'), error: { code: 'internal_error', message: 'undefined decision' } };
    const plain = await request(`${cp.url}/logs`, { method: 'POST', headers: { ...as(VFX1), 'content-type': 'application/json' }, body: JSON.stringify([failed]) });
    expect(json(plain.body)).toMatchObject({ accepted: 1 });
    const logged = (await entries()).slice(before);
    expect(logged.map((e) => [e.event.type, (e.event.by as { spiffeId: string }).spiffeId, (e.event.decision as { decision_id: string }).decision_id])).toEqual([
      ['decision', VFX1, 'd-1'],
      ['decision', VFX1, 'd-2'],
      ['decision', VFX1, 'd-3'],
    ]);
  });

  it('answers a bad /logs body with a JSON 400, and stops a body past the bound (413)', async () => {
    const size = cp.ledger!.size;
    for (const body of [Buffer.from('not json'), Buffer.from('{"decision_id":"x"}'), Buffer.from('[{"decision_id":"x"}]'), gzipSync('[')]) {
      const gzipped = body[0] === 0x1f;
      const res = await request(`${cp.url}/logs`, { method: 'POST', headers: { ...as(VFX1), ...(gzipped ? { 'content-encoding': 'gzip' } : {}) }, body });
      expect({ body: body.toString('hex').slice(0, 20), status: res.status, code: typeof json(res.body).error?.code }).toEqual({ body: body.toString('hex').slice(0, 20), status: 400, code: 'string' });
    }
    // A small gzip that inflates past the ledger's 8 MiB bound.
    const bomb = gzipSync(Buffer.alloc(9 * 1024 * 1024, 0x20));
    const res = await request(`${cp.url}/logs`, { method: 'POST', headers: { ...as(VFX1), 'content-encoding': 'gzip' }, body: bomb });
    expect({ status: res.status, code: json(res.body).error?.code }).toEqual({ status: 413, code: 'BODY_TOO_LARGE' });
    expect(cp.ledger!.size).toBe(size);
  });

  it('serves an agent that has the control plane and no token: its signing SVID and its audit trail, as its mesh identity', async () => {
    const sidecar = await sidecarFor(cp.url, VFX1);
    try {
      // As Compose and Kubernetes give it: the control plane's address for both (no token, no path).
      const env = { [AGENT_ENV.controlPlane]: sidecar.url, [AGENT_ENV.auditUrl]: sidecar.url };
      const identity = await loadSigningIdentity(env);
      expect(identity?.signer().spiffeId).toBe(VFX1);
      identity?.stop?.();
      const before = cp.ledger!.size;
      const trail = auditTrailFromEnv(env)!;
      trail.record({ type: 'handoff-sent', id: 'h-1', chunk: 0 });
      await trail.close();
      const [entry] = (await entries()).slice(before);
      expect(entry.event).toMatchObject({ type: 'handoff-sent', id: 'h-1', by: { spiffeId: VFX1, agent: 'vfx-1', component: 'app' } });
      // Nothing it sent carried a token.
      expect(sidecar.seen.some((h) => h['content-encoding'] === 'gzip')).toBe(true);
      expect(sidecar.seen.every((h) => !h.authorization || h.authorization.trim() === 'Bearer')).toBe(true);
    } finally {
      await sidecar.close();
    }
  });

  it('the workload-identity client without a token fetches that SVID too', async () => {
    const sidecar = await sidecarFor(cp.url, OWNER);
    const client = new ControlPlaneClient({ url: sidecar.url });
    try {
      expect((await client.fetchSvid()).spiffeId).toBe(OWNER);
      expect(sidecar.seen.at(-1)!.authorization).toBeUndefined();
    } finally {
      client.close();
      await sidecar.close();
    }
  });
});
