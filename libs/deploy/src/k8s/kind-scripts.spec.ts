// tools/kind, run against a fake `kubectl` that records every command: check-denials.sh (what
// demo.sh ends with) must accept exactly how the mesh refuses a call (502 from REGISTRY_ONLY's
// catch-all where the caller has no route, 403 where the route exists but the policy refuses the
// step or artifact); deploy.sh must publish the deploy-time objects the documented way; and every
// docs/deploy.md section a script names must exist. The fake answers each call as the mesh would,
// from the workflow's edges: no route -> 502, route but no edge -> 403, an edge -> 200.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, workflow } from '../test-support';

const wf = workflow();
const agentOfStep = new Map(wf.steps.map((step) => [step.name, step.agent]));
const actorOf = new Map(wf.agents.map((agent) => [agent.name, agent.actor]));
const edges = wf.edges
  .map((edge) => ({ from: agentOfStep.get(edge.from)!, to: agentOfStep.get(edge.to)!, step: edge.to, artifact: edge.artifact }))
  .filter((edge) => edge.from !== edge.to);
const read = (path: string) => readFileSync(`${REPO_ROOT}${path}`, 'utf8');
const work = mkdtempSync(join(tmpdir(), 'reelmesh-kind-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The mesh as the fake kubectl answers for it; `override` changes one verdict to see the script fail. */
interface Mesh {
  nextHops: Record<string, string[]>;
  edges: string[];
  actorOf: Record<string, string>;
  workflowId: string;
  override?: Record<string, string>;
}
const FAKE_KUBECTL = `#!/usr/bin/env node
const fs = require('fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_KUBECTL_LOG, JSON.stringify(args) + '\\n');
if (args[0] === 'version') { console.log(JSON.stringify({ serverVersion: { major: '1', minor: '30' } })); process.exit(0); }
if (args[0] === 'get') { console.log(process.env.FAKE_NAMESPACES || ''); process.exit(0); }
const exec = args.indexOf('exec');
if (exec < 0) process.exit(0);
const mesh = JSON.parse(fs.readFileSync(process.env.FAKE_MESH, 'utf8'));
const ns = args[args.indexOf('-n') + 1];
const source = args[exec + 1].replace(/^deploy\\//, '');
const url = new URL(args[args.length - 1]);
const [service, serviceNs] = url.hostname.split('.');
const [, , workflowId, step, artifact] = url.pathname.split('/').filter(Boolean);
let status;
if (mesh.actorOf[source] !== ns || args[args.indexOf('-c') + 1] !== 'agent') status = 'error:not-the-source-app';
else if (mesh.actorOf[service] !== serviceNs || url.port !== '8080') status = 'error:ENOTFOUND';
else if (!(mesh.nextHops[source] || []).includes(service)) status = '502';
else if (workflowId !== mesh.workflowId || !mesh.edges.includes([source, service, step, artifact].join(' '))) status = '403';
else status = '200';
console.log((mesh.override || {})[status] || status);
`;

function fakeKubectl(mesh: Mesh): { env: NodeJS.ProcessEnv; log: string } {
  const dir = mkdtempSync(join(work, 'bin-'));
  writeFileSync(join(dir, 'kubectl'), FAKE_KUBECTL);
  chmodSync(join(dir, 'kubectl'), 0o755);
  writeFileSync(join(dir, 'mesh.json'), JSON.stringify(mesh));
  const log = join(dir, 'calls.jsonl');
  writeFileSync(log, '');
  return { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_KUBECTL_LOG: log, FAKE_MESH: join(dir, 'mesh.json') }, log };
}
const calls = (log: string) => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[]);

const realMesh = (): Mesh => ({
  nextHops: Object.fromEntries(wf.agents.map((agent) => [agent.name, [...new Set(edges.filter((e) => e.from === agent.name).map((e) => e.to))]])),
  edges: edges.map((e) => `${e.from} ${e.to} ${e.step} ${e.artifact}`),
  actorOf: Object.fromEntries(actorOf),
  workflowId: wf.metadata.id,
});

function checkDenials(mesh: Mesh) {
  const fake = fakeKubectl(mesh);
  const run = spawnSync('bash', [`${REPO_ROOT}tools/kind/check-denials.sh`], { env: fake.env, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr, calls: calls(fake.log) };
}

describe('tools/kind/check-denials.sh (the end of demo.sh)', () => {
  it('passes when the mesh refuses as Istio does: 502 without a route, 403 with a route but the wrong step or artifact', () => {
    const run = checkDenials(realMesh());
    expect(run.output).not.toMatch(/FAIL/);
    expect(run.status).toBe(0);
    // Both kinds of refusal are exercised, each from the source's own app container.
    const verdicts = run.output.split('\n').filter((line) => line.startsWith('ok')).map((line) => line.match(/: (\d{3}) \(/)![1]);
    expect(new Set(verdicts)).toEqual(new Set(['502', '403']));
    expect(run.calls.length).toBe(verdicts.length);
  });

  it.each([
    ['the no-route call answered 403 (what the old script accepted)', { '502': '403' }],
    ['the no-route call answered by a timeout', { '502': 'error:UND_ERR_CONNECT_TIMEOUT' }],
    ['a wrong step or artifact let through', { '403': '200' }],
    ['a wrong step or artifact refused with 502', { '403': '502' }],
  ])('fails when %s', (_, override) => {
    const run = checkDenials({ ...realMesh(), override });
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(/FAIL/);
  });
});

describe('tools/kind/demo.sh and deploy.sh', () => {
  it('demo.sh sets the cluster up and ends with the denial checks', () => {
    const steps = read('tools/kind/demo.sh').split('\n').filter((line) => line.startsWith('"$here/')).map((line) => line.replace(/^"\$here\/([\w-]+\.sh)".*$/, '$1'));
    expect(steps).toEqual(['create-cluster.sh', 'install-istio.sh', 'load-images.sh', 'deploy.sh', 'check-denials.sh']);
  });

  it('every docs/deploy.md#section a kind script names exists', () => {
    const slugs = new Set(
      read('docs/deploy.md')
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => line.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-')),
    );
    const named = readdirSync(`${REPO_ROOT}tools/kind`).flatMap((file) => [...read(`tools/kind/${file}`).matchAll(/docs\/deploy\.md#([\w-]+)/g)].map((m) => `${file}: #${m[1]}`));
    expect(named.length).toBeGreaterThan(0);
    for (const ref of named) expect(slugs.has(ref.split('#')[1]), ref).toBe(true);
  });

  it('deploy.sh applies the kind overlay, then the generated k8s/published/kind kustomization from the certs folder', () => {
    const certs = join(work, 'certs');
    const fake = fakeKubectl(realMesh());
    const run = spawnSync('bash', [`${REPO_ROOT}tools/kind/deploy.sh`], {
      env: { ...fake.env, OWNER_CERTS: certs, FAKE_NAMESPACES: [...wf.actors.map((a) => a.name), 'reelmesh-kms'].join(' ') },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const applied = calls(fake.log).filter((args) => args[0] === 'apply').map((args) => args.slice(1).join(' '));
    expect(applied).toEqual(['-k k8s/overlays/kind', `-k ${certs}`]);
    expect(readFileSync(join(certs, 'kustomization.yaml'), 'utf8')).toBe(read('k8s/published/kind/kustomization.yaml'));
    const waited = calls(fake.log).filter((args) => args.includes('wait')).map((args) => args[1]);
    expect(waited.sort()).toEqual([...wf.actors.map((a) => a.name), 'reelmesh-kms'].sort());
  }, 120_000);
});
