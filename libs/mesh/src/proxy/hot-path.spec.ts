// What the hot path's tuning must not change (issue #18): a large body crosses the pair intact with
// its bytes counted exactly in the access log (the relay's larger socket buffers) and the TLS
// records that arrive together written on in one go, and the policy client asks its sidecar over
// one persistent connection.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, connectOptions, listen } from '@reelmesh/http-kit';
import { SvidSource } from '@reelmesh/workload-identity';
import { createCa } from '../ca/ca';
import { MemoryRegistry } from '../control-plane/registry';
import { collectAccessLog, startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa, HANDOFF, OWNER, TD, VFX1 } from '../testing/fixtures';
import { buildOpaInput } from './opa-input';
import { createPolicyClient } from './policy-client';
import { startProxy, type RunningProxy } from './proxy';
import { RELAY_HIGH_WATER_MARK } from './relay';

const MiB = 1024 * 1024;

/** POSTs `size` bytes (a repeating, non-uniform pattern) in 1 MiB writes; `declared`: with Content-Length, else chunked. */
function upload(endpoint: string, size: number, declared: boolean): Promise<{ status: number; body: string; sha256: string }> {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 10)) & 0xff;
  const hash = createHash('sha256');
  let left = size;
  const source = new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const part = block.subarray(0, Math.min(left, block.length - (left % 7)));
      left -= part.length;
      hash.update(part);
      this.push(part);
    },
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...connectOptions(endpoint),
        method: 'POST',
        path: HANDOFF,
        agent: false,
        headers: { host: 'vfx-1', ...(declared ? { 'content-length': size } : {}) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sha256: hash.digest('hex') }));
      },
    );
    req.on('error', reject);
    source.pipe(req);
  });
}

describe('a multi-MiB body through the pair', () => {
  let dir: string;
  let policy: FakeOpa;
  let app: EchoApp;
  let owner: RunningProxy;
  let vfx: RunningProxy;
  const { stream: accessLog, entries: log } = collectAccessLog();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rm-hot-'));
    const ca = await createCa({ trustDomain: TD });
    policy = await startOpaShapedPolicy(() => ({ allowed: true, reason: 'edge owner->vfx-1' }), { record: false });
    app = await startEchoApp();
    const registry = new MemoryRegistry();
    vfx = await startProxy({ agent: 'vfx-1', svidSource: await SvidSource.fromIssuer(ca, VFX1), registry, policyUrl: policy.url, appUrl: app.url, accessLog });
    registry.register({ agent: 'vfx-1', spiffeId: VFX1, host: '127.0.0.1', port: vfx.inboundPort });
    // The owner's app reaches its proxy on a Unix socket in the pod's folder, as in a local pod.
    owner = await startProxy({ agent: 'owner', svidSource: await SvidSource.fromIssuer(ca, OWNER), registry, policyUrl: policy.url, appUrl: app.url, accessLog, outbound: `unix:${join(dir, 'out.sock')}` });
  });

  afterAll(async () => {
    await Promise.all([owner?.close(), vfx?.close()]);
    owner?.svidSource.stop();
    vfx?.svidSource.stop();
    await Promise.all([policy?.close(), app?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['with Content-Length', true],
    ['chunked', false],
  ])('arrives whole (%s), and both access-log lines count its bytes exactly', async (_name, declared) => {
    // Many times the relay's socket buffer, so the transfer pauses for backpressure along the way.
    const size = 12 * RELAY_HIGH_WATER_MARK * 4 + 12_345;
    const before = log.length;
    // Write operations of the inbound proxy on its socket to the app (the proxies run in this process).
    const appPort = Number(new URL(app.url).port);
    const { _write: write, _writev: writev } = net.Socket.prototype;
    let appWrites = 0;
    net.Socket.prototype._write = function (this: net.Socket, chunk, encoding, cb) {
      if (this.remotePort === appPort) appWrites += 1;
      return write.call(this, chunk, encoding, cb);
    };
    net.Socket.prototype._writev = function (this: net.Socket, chunks, cb) {
      if (this.remotePort === appPort) appWrites += 1;
      return writev!.call(this, chunks, cb);
    };
    const res = await upload(owner.outboundUrl, size, declared).finally(() => {
      Object.assign(net.Socket.prototype, { _write: write, _writev: writev });
    });

    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as { bytes: number; sha256: string; peer: string };
    expect(seen).toEqual({ bytes: size, sha256: res.sha256, peer: OWNER });
    const lines = log.slice(before).filter((l) => l.path === HANDOFF);
    expect(lines.map((l) => l.direction).sort()).toEqual(['inbound', 'outbound']);
    // Body bytes both ways: the upload and the app's answer, on each side of the pair.
    for (const line of lines) expect(line).toMatchObject({ decision: 'allow', status: 200, bytes: size + Buffer.byteLength(res.body) });
    // TLS hands the inbound proxy one record (16 KiB at most) at a time; the records that arrive
    // together go to the app in one write (about 60 here). Written one by one: 800 to 980.
    expect(appWrites).toBeGreaterThan(0);
    expect(appWrites).toBeLessThan(size / (16 * 1024) / 4);
  });
});

describe('policy client connection', () => {
  let server: http.Server;
  let url: string;
  let connections = 0;
  let requests = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests += 1;
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({ result: { allowed: true, reason: 'allowed' } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
    });
    server.on('connection', () => (connections += 1));
    url = await listen(server, '127.0.0.1:0');
  });

  afterAll(() => closeServer(server, 0));

  it('asks check after check over the one connection it opened first', async () => {
    const client = createPolicyClient({ url, timeoutMs: 5_000 });
    const input = buildOpaInput({ source: OWNER, destination: VFX1, method: 'POST', url: HANDOFF, httpVersion: '1.1', headers: { host: 'vfx-1' } });
    try {
      for (let i = 0; i < 25; i++) expect(await client.check(input)).toEqual({ allowed: true, reason: 'allowed', unavailable: false });
    } finally {
      client.close();
    }
    expect(requests).toBe(25);
    expect(connections).toBe(1);
  });
});
