// Suite 2 (#4, #7.2): duration of a 1 KB POST on every allowed edge of the workflow, by level:
// direct plain HTTP, the mTLS proxy pair without policy, and the pair asking a policy sidecar
// (allow-all, minimal, +100, +1000, +10000 real, distinct, non-matching rules). The proxies and a
// trivial app run in this process; each policy sidecar is its own process, as in a pod. Pods are
// laid out as the local runtime does it (planPod): app, outbound listener and the policy sidecar's
// check socket (the proxy's way to ask, the allow-all stand-in's too) on Unix sockets in the pod's
// folder, mTLS over TCP between pods; direct is plain TCP between two apps.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseSpiffeId } from '@reelmesh/addressing';
import { POLICY_SIDECAR } from '@reelmesh/app-policy-sidecar';
import { closeServer, connectOptions, listen } from '@reelmesh/http-kit';
import { MemoryRegistry, createCa, startProxy, type Ca, type RunningProxy } from '@reelmesh/mesh';
import { SvidSource } from '@reelmesh/workload-identity';
import { compilePolicy, generateDecisionVectors, generatePolicyData } from '@reelmesh/policy';
import { ProcessGroup } from '@reelmesh/runtime';
import { loadWorkflow, spiffeId as spiffeIdOf, type Workflow } from '@reelmesh/workflow';
import { writeFileAtomic } from '@reelmesh/storage';

export const REQUEST_LEVELS = ['direct', 'pair', 'allow-all', 'minimal', '+100', '+1000', '+10000'] as const;
export type RequestLevel = (typeof REQUEST_LEVELS)[number];
/** The policy levels the ANOVA compares (same engine, growing data). */
export const POLICY_SIZE_LEVELS: RequestLevel[] = ['minimal', '+100', '+1000', '+10000'];
const EXTRA_RULES: Partial<Record<RequestLevel, number>> = { minimal: 0, '+100': 100, '+1000': 1000, '+10000': 10000 };

export interface Edge {
  source: string;
  destination: string;
  path: string;
}

export interface RequestResult {
  edges: Edge[];
  requestsPerEdge: number;
  /** level -> every observation (ms), all edges together. */
  samples: Record<RequestLevel, number[]>;
  /** level -> ruleCount of the policy data document (levels with our engine). */
  rules: Partial<Record<RequestLevel, number>>;
}

const ALLOW_ALL = fileURLToPath(new URL('./allow-all-policy.ts', import.meta.url));

/** The allowed edges, as the generated decision vectors state them (one call per edge). */
export function allowedEdges(wf: Workflow): Edge[] {
  const seen = new Set<string>();
  return generateDecisionVectors(wf)
    .filter((v) => v.expected.allowed)
    .map((v) => {
      const attrs = (v.input as { attributes: { source: { principal: string }; destination: { principal: string }; request: { http: { path: string } } } }).attributes;
      return { source: parseSpiffeId(attrs.source.principal).agent, destination: parseSpiffeId(attrs.destination.principal).agent, path: attrs.request.http.path };
    })
    .filter((e) => {
      // Vectors also probe edge cases (e.g. the largest chunk index) on an edge already listed.
      const key = `${e.source}>${e.destination}>${e.path.replace(/\/[^/]+$/, '')}`;
      return !seen.has(key) && Boolean(seen.add(key));
    });
}

interface Target {
  /** The endpoint the app posts to (the app itself, or its pod's outbound proxy). */
  endpoint: string;
  host: string;
  agent: http.Agent;
}

function post(target: Target, path: string, body: Buffer): Promise<void> {
  return new Promise((done, fail) => {
    const req = http.request(
      { ...connectOptions(target.endpoint), path, method: 'POST', agent: target.agent, headers: { host: target.host, 'content-type': 'application/octet-stream', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? done() : fail(new Error(`POST ${target.host}${path}: HTTP ${res.statusCode} (a denied or broken edge)`))));
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** The app behind every pod: drains the body, answers 200. */
function startApp(address: string): Promise<http.Server & { url: string }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  server.keepAliveTimeout = 60_000;
  return listen(server, address).then((url) => Object.assign(server, { url }));
}

/**
 * The pods of one level. As the local runtime lays a pod out (planPod): the app and the proxy's
 * outbound listener are Unix sockets in the pod's folder; between pods, mTLS over TCP.
 */
async function startLevelPods(wf: Workflow, ca: Ca, appUrl: string, policyCheck: string | undefined, socketDir: string): Promise<Record<string, RunningProxy>> {
  const registry = new MemoryRegistry();
  const pods: Record<string, RunningProxy> = {};
  for (const a of wf.agents) {
    const spiffeId = spiffeIdOf(wf, a.name);
    const proxy = await startProxy({
      agent: a.name,
      svidSource: await SvidSource.fromIssuer(ca, spiffeId),
      registry,
      ...(policyCheck ? { policyCheck, policyTimeoutMs: 1000 } : { insecureSkipPolicy: true }),
      appUrl,
      outbound: `unix:${join(socketDir, `${a.name}.out.sock`)}`,
    });
    registry.register({ agent: a.name, spiffeId, host: '127.0.0.1', port: proxy.inboundPort });
    pods[a.name] = proxy;
  }
  return pods;
}

export async function runRequestSuite(opts: { requestsPerEdge: number; warmup: number; workDir: string; log: (line: string) => void }): Promise<RequestResult> {
  const wf = loadWorkflow();
  const edges = allowedEdges(wf);
  const ca = await createCa({ trustDomain: wf.metadata.trustDomain });
  // Plain TCP between two apps (direct); the pods' app on a Unix socket, as in a local pod.
  const app = await startApp('127.0.0.1:0');
  const socketDir = await mkdtemp(join(tmpdir(), 'rm-req-'));
  const podApp = await startApp(`unix:${join(socketDir, 'app.sock')}`);
  const group = new ProcessGroup();
  const allPods: RunningProxy[] = [];
  const agents: http.Agent[] = [];
  const rules: RequestResult['rules'] = {};
  try {
    const policyChecks: Partial<Record<RequestLevel, string>> = {};
    const { ready } = await group.spawn({ name: 'allow-all-policy', entry: ALLOW_ALL, args: [`unix:${join(socketDir, 'allow-all.check.sock')}`], env: {}, logFile: join(opts.workDir, 'allow-all.log') });
    policyChecks['allow-all'] = ready.endpoints.check;
    for (const level of POLICY_SIZE_LEVELS) {
      const data = generatePolicyData(wf, { extraRules: EXTRA_RULES[level] });
      rules[level] = compilePolicy(data).ruleCount;
      const suffix = level.replace('+', '-plus-');
      const file = join(opts.workDir, `policy-data${suffix}.json`);
      await writeFileAtomic(file, JSON.stringify(data));
      const sidecar = await group.spawn({
        name: `policy${level}`,
        entry: POLICY_SIDECAR.main,
        // Inside the pod, the proxy asks its policy sidecar on the check socket (planPod).
        args: [
          '--listen', `unix:${join(socketDir, `policy${suffix}.sock`)}`,
          '--check-listen', `unix:${join(socketDir, `policy${suffix}.check.sock`)}`,
          '--data', file,
          '--decision-log', join(opts.workDir, `decisions${suffix}.log`),
        ],
        env: {},
        logFile: join(opts.workDir, `policy${suffix}.log`),
      });
      policyChecks[level] = sidecar.ready.endpoints.check;
    }

    // One target per (level, edge), each with its own keep-alive connection, as a pod's app has.
    const targets = {} as Record<RequestLevel, Target[]>;
    const connection = () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return agent;
    };
    targets.direct = edges.map((e) => ({ endpoint: app.url, host: e.destination, agent: connection() }));
    for (const level of REQUEST_LEVELS.filter((l) => l !== 'direct')) {
      const pods = await startLevelPods(wf, ca, podApp.url, policyChecks[level], await mkdtemp(join(socketDir, 'p')));
      allPods.push(...Object.values(pods));
      targets[level] = edges.map((e) => ({ endpoint: pods[e.source].outboundUrl, host: e.destination, agent: connection() }));
    }

    const body = Buffer.alloc(1024, 0x61);
    for (const level of REQUEST_LEVELS) {
      for (let i = 0; i < opts.warmup; i++) for (const [k, e] of edges.entries()) await post(targets[level][k], e.path, body);
    }
    const samples = Object.fromEntries(REQUEST_LEVELS.map((l) => [l, [] as number[]])) as Record<RequestLevel, number[]>;
    for (let round = 0; round < opts.requestsPerEdge; round++) {
      // Rotate the level order every round: no level always runs right after another.
      const order = REQUEST_LEVELS.map((_, i) => REQUEST_LEVELS[(i + round) % REQUEST_LEVELS.length]);
      for (const level of order) {
        for (const [k, e] of edges.entries()) {
          const t0 = performance.now();
          await post(targets[level][k], e.path, body);
          samples[level].push(performance.now() - t0);
        }
      }
    }
    opts.log(`request: ${opts.requestsPerEdge} x ${edges.length} edges x ${REQUEST_LEVELS.length} levels`);
    return { edges, requestsPerEdge: opts.requestsPerEdge, samples, rules };
  } finally {
    for (const a of agents) a.destroy();
    await Promise.all(allPods.map((p) => p.close()));
    for (const p of allPods) p.svidSource.stop();
    await closeServer(app, 0);
    await closeServer(podApp, 0);
    await group.stop(2_000);
    await rm(socketDir, { recursive: true, force: true });
  }
}
