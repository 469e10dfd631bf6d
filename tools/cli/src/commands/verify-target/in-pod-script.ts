// The program run inside a source pod (`node -e`): it calls every destination with every method and
// path, from the pod's own app container, so each call leaves through that pod's sidecar with that
// pod's identity, and prints one JSON line per call. Plain CommonJS with node:http only, no files:
// it runs in any agent image. node:http sends the path exactly as given (fetch would resolve `..`).

/** Where a call to one destination goes from inside the source pod. */
export interface InPodTarget {
  /** The agent called (echoed back on every line). */
  destination: string;
  /** Where the TCP connection goes: the pod's outbound sidecar (Compose) or the destination's Service (Kubernetes, intercepted by istio-proxy). */
  hostname: string;
  port: number;
  /** The Host header: the destination agent (Compose routes by it) or the Service name. */
  host: string;
}

export interface InPodPlan {
  targets: readonly InPodTarget[];
  methods: readonly string[];
  paths: readonly string[];
}

/** One line the script prints. */
export interface InPodLine {
  destination: string;
  method: string;
  path: string;
  status: number;
  code?: string;
  error?: string;
}

/** Calls at once inside one pod, and the answer time allowed per call. */
const WORKERS = 4;
const CALL_TIMEOUT_MS = 10_000;

/** The `node -e` program for one source pod: every target x method x path. */
export function inPodScript(plan: InPodPlan): string {
  return `'use strict';
const http = require('node:http');
const plan = ${JSON.stringify(plan)};
const calls = [];
for (const t of plan.targets) for (const m of plan.methods) for (const p of plan.paths) calls.push([t, m, p]);
const body = Buffer.from('{}');
function once(t, method, path) {
  return new Promise((resolve) => {
    const req = http.request({ host: t.hostname, port: t.port, method, path, agent: false, timeout: ${CALL_TIMEOUT_MS},
      headers: { host: t.host, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('error', (e) => resolve({ status: 0, error: String(e.code || e.message) }));
      res.on('end', () => {
        let code;
        try { const j = JSON.parse(Buffer.concat(parts).toString('utf8')); if (j && j.error && typeof j.error.code === 'string') code = j.error.code; } catch {}
        resolve({ status: res.statusCode, code });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => resolve({ status: 0, error: String(e.code || e.message) }));
    req.end(body);
  });
}
async function call(t, method, path) {
  let answer = await once(t, method, path);
  // A sidecar's 503 (policy or upstream not answering) is transient: ask again, as the local verify does.
  for (let retry = 1; retry <= 3 && answer.status === 503 && answer.code === undefined; retry++) {
    await new Promise((r) => setTimeout(r, 100 * retry));
    answer = await once(t, method, path);
  }
  process.stdout.write(JSON.stringify({ destination: t.destination, method, path, ...answer }) + '\\n');
}
async function worker() { for (let c = calls.shift(); c; c = calls.shift()) await call(...c); }
Promise.all(Array.from({ length: ${WORKERS} }, worker)).catch((e) => { console.error(e); process.exitCode = 1; });
`;
}
