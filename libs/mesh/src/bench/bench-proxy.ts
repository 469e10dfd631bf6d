// Benchmarks of the proxy pair (not tests): latency of a small POST and throughput of a large
// streamed body, direct vs through the mesh. Everything runs in this process on loopback.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { formatSpiffeId } from '@reelmesh/addressing';
import { SvidSource } from '@reelmesh/workload-identity';
import { createCa } from '../ca/ca';
import { MemoryRegistry } from '../control-plane/registry';
import { startProxy, type RunningProxy } from '../proxy/proxy';
import { startEchoApp, startOpaShapedPolicy, type EchoApp, type FakeOpa } from '../testing/fixtures';

export type BenchMode = 'direct' | 'pair' | 'pair+policy';

export interface LatencyResult {
  mode: BenchMode;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface ThroughputResult {
  mode: BenchMode;
  bytes: number;
  seconds: number;
  mbPerSecond: number;
}

export interface BenchReport {
  latency: LatencyResult[];
  /** p50/p99 the pair adds over direct, and the median the policy check adds over the pair. */
  overhead: { pairP50Ms: number; pairP99Ms: number; policyP50Ms: number };
  throughput: ThroughputResult[];
}

export interface BenchOptions {
  requests?: number;
  warmup?: number;
  bodyBytes?: number;
  throughputBytes?: number;
  /** Use this policy sidecar (e.g. @reelmesh/policy or real OPA); default: an allow-all OPA-shaped server. */
  policyUrl?: string;
}

interface Rig {
  app: EchoApp;
  targets: Record<BenchMode, { url: string; host: string }>;
  close(): Promise<void>;
}

/** Starts an app, a policy, and two proxy pairs (with and without the policy check). */
async function startRig(policyUrl?: string): Promise<Rig> {
  const td = 'reelmesh.local';
  const ca = await createCa({ trustDomain: td });
  const app = await startEchoApp({ record: false, hash: false });
  let fake: FakeOpa | undefined;
  if (!policyUrl) {
    fake = await startOpaShapedPolicy(() => ({ allowed: true, reason: 'bench' }), { record: false });
    policyUrl = fake.url;
  }
  const registry = new MemoryRegistry();
  const proxies: RunningProxy[] = [];
  const pod = async (agent: string, withPolicy: boolean) => {
    const spiffeId = formatSpiffeId({ trustDomain: td, actor: 'bench', agent });
    const p = await startProxy({
      agent,
      svidSource: await SvidSource.fromIssuer(ca, spiffeId),
      registry,
      ...(withPolicy ? { policyUrl } : { insecureSkipPolicy: true }),
      appUrl: app.url,
    });
    registry.register({ agent, spiffeId, host: '127.0.0.1', port: p.inboundPort });
    proxies.push(p);
    return p;
  };
  const client = await pod('client', false);
  await pod('server-open', false);
  await pod('server-policy', true);
  return {
    app,
    targets: {
      direct: { url: app.url, host: 'app' },
      pair: { url: client.outboundUrl, host: 'server-open' },
      'pair+policy': { url: client.outboundUrl, host: 'server-policy' },
    },
    async close() {
      await Promise.all(proxies.map((p) => p.close()));
      for (const p of proxies) p.svidSource.stop();
      await Promise.all([app.close(), fake?.close()]);
    },
  };
}

function post(agent: http.Agent, url: URL, host: string, body: Buffer | Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/v1/handoffs/bench/step/av/0',
        method: 'POST',
        agent,
        headers: { host, ...(Buffer.isBuffer(body) ? { 'content-length': body.length } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

async function measureLatency(rig: Rig, mode: BenchMode, requests: number, warmup: number, bodyBytes: number): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(rig.targets[mode].url);
  const host = rig.targets[mode].host;
  const body = Buffer.alloc(bodyBytes, 0x61);
  for (let i = 0; i < warmup; i++) await post(agent, url, host, body);
  const samples = new Float64Array(requests);
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await post(agent, url, host, body);
    samples[i] = performance.now() - t0;
  }
  agent.destroy();
  samples.sort();
  const mean = samples.reduce((a, b) => a + b, 0) / requests;
  return { mode, requests, p50Ms: round(quantile(samples, 0.5)), p99Ms: round(quantile(samples, 0.99)), meanMs: round(mean) };
}

async function measureThroughput(rig: Rig, mode: BenchMode, bytes: number): Promise<ThroughputResult> {
  const agent = new http.Agent({ keepAlive: false });
  const block = Buffer.alloc(1024 * 1024, 0x62);
  let left = bytes;
  const source = new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
  const t0 = performance.now();
  await post(agent, new URL(rig.targets[mode].url), rig.targets[mode].host, source);
  const seconds = (performance.now() - t0) / 1000;
  return { mode, bytes, seconds: round(seconds), mbPerSecond: round(bytes / 1048576 / seconds) };
}

/** p50/p99 of a 1 KB POST (direct, pair, pair+policy) and 256 MB throughput (direct vs pair). */
export async function benchProxy(opts: BenchOptions = {}): Promise<BenchReport> {
  const requests = opts.requests ?? 5000;
  const warmup = opts.warmup ?? 500;
  const bodyBytes = opts.bodyBytes ?? 1024;
  const throughputBytes = opts.throughputBytes ?? 256 * 1024 * 1024;
  const rig = await startRig(opts.policyUrl);
  try {
    const latency: LatencyResult[] = [];
    for (const mode of ['direct', 'pair', 'pair+policy'] as const) {
      latency.push(await measureLatency(rig, mode, requests, warmup, bodyBytes));
    }
    const throughput: ThroughputResult[] = [];
    for (const mode of ['direct', 'pair'] as const) throughput.push(await measureThroughput(rig, mode, throughputBytes));
    const [direct, pair, withPolicy] = latency;
    return {
      latency,
      overhead: {
        pairP50Ms: round(pair.p50Ms - direct.p50Ms),
        pairP99Ms: round(pair.p99Ms - direct.p99Ms),
        policyP50Ms: round(withPolicy.p50Ms - pair.p50Ms),
      },
      throughput,
    };
  } finally {
    await rig.close();
  }
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
