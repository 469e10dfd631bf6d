// A latency probe run where an app would run (inside a pod namespace, as the app uid):
// `tsx latency-probe.ts --outbound <endpoint> --host <agent> --path /v1/... --requests 2000`.
// Sends sequential POSTs of --bytes and prints one JSON line {p50Ms, p99Ms, meanMs, requests}.
// REELMESH_PROBE_HEADERS (JSON) adds headers to every request: the app's pod token for its outbound listener.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { connectOptions } from '@reelmesh/http-kit';

const { values } = parseArgs({
  options: {
    outbound: { type: 'string' },
    host: { type: 'string' },
    path: { type: 'string', default: '/' },
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    bytes: { type: 'string', default: '1024' },
  },
  strict: true,
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = Buffer.alloc(Number(values.bytes), 0x61);
const extraHeaders = JSON.parse(process.env.REELMESH_PROBE_HEADERS || '{}') as Record<string, string>;

function once(): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...connectOptions(values.outbound!), method: 'POST', path: values.path, agent, headers: { ...extraHeaders, host: values.host, 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const samples: number[] = [];
for (let i = 0; i < Number(values.warmup); i++) await once();
for (let i = 0; i < Number(values.requests); i++) samples.push(await once());
samples.sort((a, b) => a - b);
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
process.stdout.write(
  `${JSON.stringify({ requests: samples.length, p50Ms: at(0.5), p99Ms: at(0.99), meanMs: samples.reduce((s, x) => s + x, 0) / samples.length })}\n`,
);
agent.destroy();
