// `reelmesh verify --target compose|kube`, the integration suite users run against a deployment.
// Nothing here runs Docker or a cluster: the CLI is driven against a fake `docker` and a fake
// `kubectl` (first on PATH) that record their argv and answer with canned per-call statuses, so the
// command lines are checked; the in-pod script itself runs for real (`node -e`) against a local HTTP
// server standing in for the pod's outbound sidecar.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_PORT, serviceHost, topologyOf } from '@reelmesh/deploy';
import { REPO_ROOT } from '@reelmesh/runtime';
import { accessMatrix, isAllowed, loadWorkflow } from '@reelmesh/workflow';
import { classifyAnswer, MESH_REFUSALS, type RemoteTarget } from '../src/commands/verify-target/denials';
import { inPodScript, type InPodLine } from '../src/commands/verify-target/in-pod-script';
import { writeVerifyReport } from '../src/commands/verify-target/report';
import { parsePodOutput, planFor } from '../src/commands/verify-target/run-target';
import { main } from '../src/main';
import { candidatePaths, METHODS, summarizeRows, type VerifyReport, type VerifyRow } from '../src/verify-matrix';
import { lastJsonLine, reelmesh } from './helpers';

const workflow = loadWorkflow();
const topology = topologyOf(workflow);
const matrix = accessMatrix(workflow);
const agents = workflow.agents.map((a) => a.name);
const paths = candidatePaths(workflow);
const callsPerPod = agents.length * METHODS.length * paths.length;

/** What the app answers an allowed call with the verify's '{}' body (the handoff router wants multipart). */
const APP_ANSWER = { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' };

/** How a correct deployment answers every call from `source`'s pod, per target. */
function correctAnswers(target: RemoteTarget): Record<string, InPodLine[]> {
  const out: Record<string, InPodLine[]> = {};
  for (const source of agents) {
    const hops = topology.agent(source).nextHops;
    out[source] = [];
    for (const destination of agents)
      for (const method of METHODS)
        for (const path of paths) {
          const answer = isAllowed(matrix, source, destination, method, path)
            ? APP_ANSWER
            : // The destination's policy says no where the source has a route/egress to it; elsewhere
              // the source's own sidecar has nowhere to send it.
              { status: hops.includes(destination) ? 403 : target === 'compose' ? 404 : 502 };
          out[source].push({ destination, method, path, ...answer });
        }
  }
  return out;
}

/** The report the local verify prints for a mesh that matches the matrix. */
function localReportText(): string {
  const rows: VerifyRow[] = [];
  for (const source of agents)
    for (const destination of agents)
      for (const method of METHODS)
        for (const path of paths) {
          const allowed = isAllowed(matrix, source, destination, method, path);
          rows.push({ source, destination, method, path, expected: allowed ? 'allow' : 'deny', actual: allowed ? 'allow' : 'deny', status: allowed ? 415 : 403, code: allowed ? 'UNSUPPORTED_MEDIA_TYPE' : 'POLICY_DENIED' });
        }
  let text = '';
  writeVerifyReport(summarizeRows(rows), agents, { write: (t) => (text += t) });
  return text;
}

describe('reelmesh verify --target against a fake docker and kubectl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reelmesh-verify-target-'));
  const log = join(dir, 'argv.jsonl');
  const answersFile = join(dir, 'answers.json');

  beforeAll(() => {
    // One fake for both tools: records its argv, finds the source pod in it and prints that pod's canned lines.
    const fake = `#!${process.execPath}
const fs = require('node:fs');
const name = require('node:path').basename(process.argv[1]);
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ name, args }) + '\\n');
const source = name === 'docker' ? args[args.indexOf('-T') + 1].replace(/-app$/, '') : args[args.indexOf('exec') + 1].replace(/^deploy\\//, '');
const answers = JSON.parse(fs.readFileSync(process.env.FAKE_ANSWERS, 'utf8'));
if (!answers[source]) { process.stderr.write('Error from server (NotFound): deployments.apps "' + source + '" not found\\n'); process.exit(1); }
process.stdout.write(answers[source].map((line) => JSON.stringify(line)).join('\\n') + '\\n');
`;
    for (const tool of ['docker', 'kubectl']) {
      writeFileSync(join(dir, tool), fake);
      chmodSync(join(dir, tool), 0o755);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[], answers: Record<string, InPodLine[]>) {
    writeFileSync(log, '');
    writeFileSync(answersFile, JSON.stringify(answers));
    const result = await reelmesh(['verify', ...args], { env: { PATH: `${dir}:${process.env.PATH}`, FAKE_LOG: log, FAKE_ANSWERS: answersFile } });
    const calls = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; args: string[] });
    return { ...result, calls };
  }

  /** The in-pod plan embedded in a recorded `node -e` script. */
  const planIn = (script: string) => JSON.parse(/^const plan = (.*);$/m.exec(script)![1]) as ReturnType<typeof planFor>;

  it('compose: one `docker compose exec -T <agent>-app node -e` per pod, calling through the app’s outbound proxy; a matching deployment passes with the local report', async () => {
    const result = await run(['--target', 'compose'], correctAnswers('compose'));
    expect(result.code, result.stderr).toBe(0);
    expect(result.calls.map((c) => c.name)).toEqual(agents.map(() => 'docker'));
    expect(result.calls.map((c) => c.args.slice(0, -1))).toEqual(agents.map((a) => ['compose', 'exec', '-T', `${a}-app`, 'node', '-e']));
    // The script calls what the generated Compose file gives each app as its way out.
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { environment: Record<string, string> }> };
    for (const [index, call] of result.calls.entries()) {
      const outbound = new URL(compose.services[`${agents[index]}-app`].environment.REELMESH_OUTBOUND_PROXY);
      const plan = planIn(call.args.at(-1)!);
      expect(plan.targets).toEqual(agents.map((destination) => ({ destination, hostname: outbound.hostname, port: Number(outbound.port), host: destination })));
      expect(plan.methods).toEqual([...METHODS]);
      expect(plan.paths).toEqual(paths);
    }
    expect(result.stdout).toBe(localReportText());
    expect(result.stdout).toContain(`${agents.length * callsPerPod} attempts, ${matrix.length} expected allowed, ${matrix.length} allowed, 0 unexpected allows, 0 unexpected denies`);
  }, 120_000);

  it('kube: `kubectl --context <ctx> -n <source ns> exec deploy/<agent> -c agent -- node -e`, calling each destination’s Service; --namespace-of moves an agent', async () => {
    const moved = agents[agents.length - 1];
    const result = await run(['--target', 'kube', '--context', 'kind-reelmesh', '--namespace-of', `${moved}=elsewhere`, '--json'], correctAnswers('kube'));
    expect(result.code, result.stderr).toBe(0);
    const ns = (agent: string) => (agent === moved ? 'elsewhere' : topology.agent(agent).namespace);
    expect(result.calls.map((c) => c.name)).toEqual(agents.map(() => 'kubectl'));
    expect(result.calls.map((c) => c.args.slice(0, -1))).toEqual(
      agents.map((a) => ['--context', 'kind-reelmesh', '-n', ns(a), 'exec', `deploy/${a}`, '-c', 'agent', '--', 'node', '-e']),
    );
    for (const call of result.calls) {
      expect(planIn(call.args.at(-1)!).targets).toEqual(
        agents.map((d) => ({ destination: d, hostname: `${d}.${ns(d)}.svc.cluster.local`, port: APP_PORT, host: `${serviceHost(d, ns(d))}:${APP_PORT}` })),
      );
    }
    const report = lastJsonLine<VerifyReport>(result.stdout);
    expect(report).toMatchObject({ attempts: agents.length * callsPerPod, expectedAllowed: matrix.length, allowed: matrix.length, unexpectedAllows: 0, unexpectedDenies: 0 });
    // Denials are named the way Istio answers them.
    expect(new Set(report.rows.filter((r) => r.actual === 'deny').map((r) => r.code))).toEqual(new Set(['RBAC_DENIED', 'NO_EGRESS']));
  }, 120_000);

  it('one wrong answer each way fails the run and names the row', async () => {
    const answers = correctAnswers('compose');
    const rule = matrix[0];
    const allowedPath = paths.find((p) => isAllowed(matrix, rule.source, rule.destination, 'POST', p))!;
    // An allowed call denied by the destination's policy ...
    const denied = answers[rule.source].find((l) => l.destination === rule.destination && l.method === 'POST' && l.path === allowedPath)!;
    Object.assign(denied, { status: 403, code: undefined });
    // ... and a denied call (the wrong method on the same edge) that reached the app.
    const leaked = answers[rule.source].find((l) => l.destination === rule.destination && l.method === 'PUT' && l.path === allowedPath)!;
    Object.assign(leaked, APP_ANSWER);
    const result = await run(['--target', 'compose'], answers);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`MISMATCH ${rule.source} -> ${rule.destination} POST ${allowedPath}: expected allow, got deny (403 EXT_AUTHZ_DENIED)`);
    expect(result.stdout).toContain(`MISMATCH ${rule.source} -> ${rule.destination} PUT ${allowedPath}: expected deny, got allow (415 UNSUPPORTED_MEDIA_TYPE)`);
    expect(result.stdout).toContain('1 unexpected allows, 1 unexpected denies');
  }, 120_000);

  it('kube without --context: a 502 for a call the matrix allows is a failure; an unrecognised answer fails either way', async () => {
    const answers = correctAnswers('kube');
    const rule = matrix[0];
    const allowedPath = paths.find((p) => isAllowed(matrix, rule.source, rule.destination, 'POST', p))!;
    Object.assign(answers[rule.source].find((l) => l.destination === rule.destination && l.method === 'POST' && l.path === allowedPath)!, { status: 502, code: undefined });
    const other = answers[rule.source].find((l) => l.destination === rule.destination && l.method === 'GET' && l.path === allowedPath)!;
    Object.assign(other, { status: 500, code: undefined });
    const result = await run(['--target', 'kube'], answers);
    expect(result.code).toBe(1);
    // Without --context, kubectl uses its current context.
    for (const call of result.calls) expect(call.args[0]).toBe('-n');
    expect(result.stdout).toContain(`MISMATCH ${rule.source} -> ${rule.destination} POST ${allowedPath}: expected allow, got deny (502 NO_EGRESS)`);
    expect(result.stdout).toContain(`MISMATCH ${rule.source} -> ${rule.destination} GET ${allowedPath}: expected deny, got allow (500 UNRECOGNISED:500)`);
  }, 120_000);

  it('a pod that cannot be reached is an error, not a pass', async () => {
    const missingPod = correctAnswers('kube');
    delete missingPod[agents[0]];
    const failed = await run(['--target', 'kube'], missingPod);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`${agents[0]}: kubectl -n \\S+ exec deploy/${agents[0]} .* exited 1: Error from server \\(NotFound\\)`));
  }, 120_000);

  it('a pod that does not report every call exactly once is an error, not a pass', () => {
    const plan = planFor(workflow, { target: 'compose' });
    const lines = correctAnswers('compose')[agents[1]].map((l) => JSON.stringify(l));
    expect(parsePodOutput(agents[1], ['some log line', ...lines].join('\n'), plan).size).toBe(callsPerPod);
    expect(() => parsePodOutput(agents[1], lines.slice(1).join('\n'), plan)).toThrow(`${agents[1]}: ${callsPerPod - 1} of ${callsPerPod} calls reported`);
    expect(() => parsePodOutput(agents[1], [...lines, lines[0]].join('\n'), plan)).toThrow(/two answers for/);
  });

  it('refuses options that do not go together, before running anything', async () => {
    writeFileSync(log, '');
    const saved = process.env.PATH;
    process.env.PATH = `${dir}:${saved}`;
    process.env.FAKE_LOG = log;
    try {
      for (const args of [['--target', 'swarm'], ['--target', 'compose', '--context', 'x'], ['--target', 'kube', '--compose-file', 'x.yml'], ['--context', 'x'], ['--target', 'kube', '--namespace-of', 'nobody=x'], ['--target', 'kube', '--namespace-of', 'x']]) {
        expect(await main(['node', 'reelmesh', 'verify', ...args]), args.join(' ')).toBe(1);
      }
    } finally {
      process.env.PATH = saved;
    }
    expect(readFileSync(log, 'utf8')).toBe('');
  }, 120_000);
});

describe('how a denial looks per target', () => {
  it.each([
    ['compose', { status: 403 }, 'deny', 'EXT_AUTHZ_DENIED'],
    ['compose', { status: 404 }, 'deny', 'NO_ROUTE'],
    ['compose', { status: 503 }, 'deny', 'POLICY_ERROR'],
    ['compose', { status: 502 }, 'unrecognised', 'UNRECOGNISED:502'],
    ['compose', { status: 403, code: 'FORBIDDEN' }, 'allow', 'FORBIDDEN'], // the app's own 403
    ['kube', { status: 403 }, 'deny', 'RBAC_DENIED'],
    ['kube', { status: 502 }, 'deny', 'NO_EGRESS'],
    ['kube', { status: 503 }, 'deny', 'POLICY_ERROR'],
    ['kube', { status: 404 }, 'unrecognised', 'UNRECOGNISED:404'],
    ['kube', { status: 404, code: 'NOT_FOUND' }, 'allow', 'NOT_FOUND'],
    ['kube', { status: 201 }, 'allow', undefined],
    ['kube', { status: 0, error: 'ECONNRESET' }, 'deny', 'NO_ANSWER:ECONNRESET'],
    ['local', { status: 403, code: 'POLICY_DENIED' }, 'deny', 'POLICY_DENIED'],
    ['local', { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }, 'allow', 'UNSUPPORTED_MEDIA_TYPE'],
  ] as const)('%s %j -> %s', (target, answer, actual, code) => {
    expect(classifyAnswer(target, answer)).toEqual({ actual, ...(code === undefined ? {} : { code }) });
  });

  it('names every refusal status it accepts', () => {
    expect(Object.keys(MESH_REFUSALS.compose).map(Number).sort()).toEqual([403, 404, 503]);
    expect(Object.keys(MESH_REFUSALS.kube).map(Number).sort()).toEqual([403, 502, 503]);
  });
});

describe('the in-pod script, run for real against a stand-in outbound proxy', () => {
  let server: http.Server;
  let port: number;
  const seen: Array<{ host?: string; method?: string; url?: string; body: string }> = [];
  const flaky = new Set<string>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ host: req.headers.host, method: req.method, url: req.url, body });
        const key = `${req.headers.host} ${req.method} ${req.url}`;
        // The first try of one call meets a policy error (503, no body): the script asks again.
        if (req.url === paths[1] && req.headers.host === agents[1] && req.method === 'POST' && !flaky.has(key)) {
          flaky.add(key);
          return void res.writeHead(503).end();
        }
        if (req.method === 'DELETE') return void res.writeHead(403).end(); // a sidecar's refusal: no body
        res.writeHead(415, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'x' } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('makes every call once with the exact path and Host, and prints one JSON line per call', async () => {
    const plan = planFor(workflow, { target: 'compose' });
    const local = { ...plan, targets: plan.targets.map((t) => ({ ...t, port })) };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', inPodScript(local)], { maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => (error ? reject(new Error(err)) : resolve(out))),
    );
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as InPodLine);
    expect(lines).toHaveLength(callsPerPod);
    const byKey = new Map(lines.map((l) => [`${l.destination} ${l.method} ${l.path}`, l]));
    expect(byKey.size).toBe(callsPerPod);
    for (const destination of agents)
      for (const method of METHODS)
        for (const path of paths) {
          const line = byKey.get(`${destination} ${method} ${path}`)!;
          expect(line, `${destination} ${method} ${path}`).toEqual(
            method === 'DELETE' ? { destination, method, path, status: 403 } : { destination, method, path, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
          );
        }
    // The server saw the paths exactly as planned ('..' included: nothing resolved them), the agent as Host, the '{}' body.
    expect(paths.some((p) => p.includes('/../'))).toBe(true);
    expect(new Set(seen.map((s) => s.url))).toEqual(new Set(paths));
    expect(new Set(seen.map((s) => s.host))).toEqual(new Set(agents));
    expect(new Set(seen.map((s) => s.body))).toEqual(new Set(['{}']));
    // Every call once, and the 503 once more.
    expect(seen).toHaveLength(callsPerPod + 1);
  }, 120_000);

  it('reports a call that got no HTTP answer', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const script = inPodScript({ targets: [{ destination: agents[0], hostname: '127.0.0.1', port: deadPort, host: agents[0] }], methods: ['POST'], paths: [paths[0]] });
    const stdout = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', script], (error, out) => (error ? reject(error) : resolve(out))));
    expect(JSON.parse(stdout)).toEqual({ destination: agents[0], method: 'POST', path: paths[0], status: 0, error: 'ECONNREFUSED' });
  }, 60_000);
});
