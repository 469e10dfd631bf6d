// Benchmarks of the proxy pair (not tests): latency of a small POST and throughput of a large
// streamed body, direct vs through the mesh. Everything runs in this process: direct is plain TCP
// between two apps; through the mesh, each pod is laid out as the local runtime does it (planPod):
// the app and the proxy's outbound listener on Unix sockets in the pod's folder, mTLS over TCP
// between the pods.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { formatSpiffeId } from '@reelmesh/addressing';
import { SvidSource } from '@reelmesh/workload-identity';
import { createCa } from '../ca/ca';
import { MemoryRegistry } from '../control-plane/registry';
import { startProxy, type RunningProxy } from '../proxy/proxy';
import { closeServer, connectOptions, listen } from '@reelmesh/http-kit';
import { startOpaShapedPolicy, type FakeOpa } from '../testing/fixtures';

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
  /**
   * p50/p99 the pair adds over direct, and p50/p99 the policy check adds over the pair (ms); each
   * also as a ratio of the same run's figures (pair / direct, pair+policy / pair).
   */
  overhead: { pairP50Ms: number; pairP99Ms: number; policyP50Ms: number; policyP99Ms: number; pairP50Ratio: number; pairP99Ratio: number; policyP50Ratio: number; policyP99Ratio: number };
  /** Median of alternated runs per mode, after one warm-up transfer each. */
  throughput: ThroughputResult[];
  /** Throughput through the pair / direct, same run. */
  throughputRatio: number;
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
  targets: Record<BenchMode, { url: string; host: string }>;
  close(): Promise<void>;
}

/** The app: drains the body, answers a small JSON. */
function startApp(address: string): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 }).end('{"ok":true}'));
  });
  return listen(server, address).then((url) => ({ url, server }));
}

/** Starts an app, a policy, and two proxy pairs (with and without the policy check). */
async function startRig(policyUrl?: string): Promise<Rig> {
  const td = 'reelmesh.local';
  const ca = await createCa({ trustDomain: td });
  const dir = await mkdtemp(join(tmpdir(), 'rm-bench-'));
  const app = await startApp('127.0.0.1:0');
  const podApp = await startApp(`unix:${join(dir, 'app.sock')}`);
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
      appUrl: podApp.url,
      outbound: `unix:${join(dir, `${agent}.out.sock`)}`,
    });
    registry.register({ agent, spiffeId, host: '127.0.0.1', port: p.inboundPort });
    proxies.push(p);
    return p;
  };
  const client = await pod('client', false);
  await pod('server-open', false);
  await pod('server-policy', true);
  return {
    targets: {
      direct: { url: app.url, host: 'app' },
      pair: { url: client.outboundUrl, host: 'server-open' },
      'pair+policy': { url: client.outboundUrl, host: 'server-policy' },
    },
    async close() {
      await Promise.all(proxies.map((p) => p.close()));
      for (const p of proxies) p.svidSource.stop();
      await Promise.all([closeServer(app.server, 0), closeServer(podApp.server, 0), fake?.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function post(agent: http.Agent, url: string, host: string, body: Buffer | Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...connectOptions(url),
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
  const url = rig.targets[mode].url;
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
  await post(agent, rig.targets[mode].url, rig.targets[mode].host, source);
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
    // A first transfer warms each path (JIT, TLS session, socket buffers) and is not counted; then
    // the modes alternate, so neither always runs first on a machine whose load drifts.
    const runs: Record<'direct' | 'pair', ThroughputResult[]> = { direct: [], pair: [] };
    for (const mode of ['direct', 'pair'] as const) await measureThroughput(rig, mode, Math.min(throughputBytes, WARMUP_BYTES));
    for (let i = 0; i < THROUGHPUT_RUNS; i++) for (const mode of ['direct', 'pair'] as const) runs[mode].push(await measureThroughput(rig, mode, throughputBytes));
    const throughput = [median(runs.direct), median(runs.pair)];
    const [direct, pair, withPolicy] = latency;
    return {
      latency,
      overhead: {
        pairP50Ms: round(pair.p50Ms - direct.p50Ms),
        pairP99Ms: round(pair.p99Ms - direct.p99Ms),
        policyP50Ms: round(withPolicy.p50Ms - pair.p50Ms),
        policyP99Ms: round(withPolicy.p99Ms - pair.p99Ms),
        pairP50Ratio: round(pair.p50Ms / direct.p50Ms),
        pairP99Ratio: round(pair.p99Ms / direct.p99Ms),
        policyP50Ratio: round(withPolicy.p50Ms / pair.p50Ms),
        policyP99Ratio: round(withPolicy.p99Ms / pair.p99Ms),
      },
      throughput,
      throughputRatio: round(throughput[1].mbPerSecond / throughput[0].mbPerSecond),
    };
  } finally {
    await rig.close();
  }
}

const WARMUP_BYTES = 16 * 1024 * 1024;
const THROUGHPUT_RUNS = 3;

/** The run with the median rate. */
function median(runs: ThroughputResult[]): ThroughputResult {
  return [...runs].sort((a, b) => a.mbPerSecond - b.mbPerSecond)[runs.length >> 1];
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
