import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolationSupport, listRunObjects, sh } from '@reelmesh/netns';
import { startLocalRuntime, type LocalRuntime } from '@reelmesh/runtime';
import { captureVerify } from '../src/capture';

const run = promisify(execFile);
const support = isolationSupport({ capture: true });
if (!support.ok) console.warn(`SKIPPING isolation tests (pods in network namespaces, captures, leak attempts): ${support.reason}`);

/**
 * A process inside a pod's namespace, running as that pod's app uid with what the app holds (its
 * pod's token, in POD_HEADERS): what a malicious app can do.
 */
async function asApp(runtime: LocalRuntime, pod: string, code: string): Promise<string> {
  const [cmd, ...args] = runtime.sandbox!.command(pod, 'app');
  const { stdout } = await run(cmd, [...args, process.execPath, '-e', code], { env: { ...process.env, POD_HEADERS: JSON.stringify(runtime.agents[pod].headers) } });
  return stdout.trim();
}

/** fetch() may not set Host, so the probes use http.request; prints "<status> <error code>". */
const httpProbe = (port: number, host: string, method: string, path: string) =>
  `const r=require('http').request({host:'127.0.0.1',port:${port},method:'${method}',path:'${path}',headers:{...JSON.parse(process.env.POD_HEADERS),host:'${host}'}},res=>{let b='';res.on('data',d=>b+=d);` +
  `res.on('end',()=>{let c;try{c=JSON.parse(b).error.code}catch{c=b}console.log(res.statusCode+' '+c)})});r.on('error',e=>console.log('error '+e.code));r.end('x')`;

const connectProbe = (host: string, port: number) =>
  `const s=require('net').connect(${port},'${host}');s.setTimeout(5000,()=>{console.log('timeout');process.exit(0)});` +
  `s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;

function uidOf(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((s) => Number(/^Uid:\s+(\d+)/m.exec(s)![1]));
}

describe.skipIf(!support.ok)('isolated pods (netns)', () => {
  let dir: string;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rm-isolation-'));
    runtime = await startLocalRuntime({
      dataRoot: join(dir, 'data'),
      stateDir: join(dir, 'state'),
      exportDir: join(dir, 'out'),
      ingestDir: join(dir, 'in'),
      isolation: 'netns',
    });
  }, 120_000);

  afterAll(async () => {
    const runId = runtime?.sandbox?.network.runId;
    await runtime?.stop(3_000);
    if (runId) {
      // Normal exit: no namespace, veth, bridge or rule of this run is left.
      expect(await listRunObjects(runId)).toEqual({ namespaces: [], links: [] });
      expect(await sh('iptables-save', [], { allowFail: true })).not.toContain(`rm-${runId}`);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('runs apps and sidecars under their own non-root uids, reachable from the host only through port-forwards', async () => {
    const owner = runtime.agents.owner;
    expect(await uidOf(owner.pid)).toBe(1338);
    const proxy = runtime.group.processes.find((p) => p.name === 'owner/proxy')!;
    expect(await uidOf(proxy.child.pid!)).toBe(1337);
    const status = await fetch(`${owner.url}/v1/status`, { headers: owner.headers });
    expect(status.status).toBe(200);
    // The app is private to its pod here too: without the pod's token the port-forward gets nothing.
    expect((await fetch(`${owner.url}/v1/status`)).status).toBe(403);
    expect(owner.netns!.address).toMatch(/^10\.213\.0\.\d+$/);
  });

  it('blocks an app connecting straight to another pod, bypassing its sidecar (and counts it)', async () => {
    const before = await runtime.sandbox!.network.denials('owner');
    const target = runtime.agents['vfx-2'].netns!;
    expect(await asApp(runtime, 'owner', connectProbe(target.address, target.inboundPort))).toBe('EHOSTUNREACH');
    expect((await runtime.sandbox!.network.denials('owner')).app).toBeGreaterThan(before.app);
  });

  it('denies a call to a non-edge agent through the sidecar, logged by the destination proxy, never reaching its app', async () => {
    const outbound = runtime.agents.owner.netns!.outboundPort;
    const path = '/v1/handoffs/leak-test/grade/video/0';
    expect(await asApp(runtime, 'owner', httpProbe(outbound, 'color', 'POST', path))).toBe('403 POLICY_DENIED');
    const log = (await readFile(runtime.agents.color.pod!.accessLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(log.find((e) => e.path === path)).toMatchObject({ direction: 'inbound', decision: 'deny', status: 403 });
    const appLog = await readFile(runtime.agents.color.logFile, 'utf8');
    expect(appLog).not.toContain('leak-test');
  });

  it('blocks an app reaching a listener outside the mesh (another namespace on the bridge)', async () => {
    const outside = await runtime.sandbox!.network.addNamespace('outside');
    const listener = spawn('ip', ['netns', 'exec', outside.ns, process.execPath, '-e', `require('net').createServer(s=>s.end()).listen(9000,'${outside.address}',()=>console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise((r) => listener.stdout!.once('data', r));
      const before = await runtime.sandbox!.network.denials('vfx-1');
      expect(await asApp(runtime, 'vfx-1', connectProbe(outside.address, 9000))).toBe('EHOSTUNREACH');
      expect((await runtime.sandbox!.network.denials('vfx-1')).app).toBeGreaterThan(before.app);
      // The sidecar's outbound listener is REGISTRY_ONLY: an unregistered destination is refused too.
      const outbound = runtime.agents['vfx-1'].netns!.outboundPort;
      expect(await asApp(runtime, 'vfx-1', httpProbe(outbound, 'outside', 'POST', '/v1/anything'))).toBe('502 UNKNOWN_DESTINATION');
    } finally {
      listener.kill('SIGKILL');
    }
  });

  it('captures every interface: TLS 1.3 only between pods, plaintext only on the own loopback, bystanders see nothing', async () => {
    const report = await captureVerify(runtime, {
      outDir: join(dir, 'capture'),
      pairs: [
        { source: 'owner', destination: 'vfx-1' },
        { source: 'vfx-2', destination: 'hdr' },
        { source: 'color', destination: 'color' },
      ],
    });
    expect(report.totals.attempts).toBe(3 * 4 * report.attempts.filter((a) => a.source === 'owner' && a.method === 'GET').length);
    expect(report.verdicts.filter((v) => v.verdict === 'fail')).toEqual([]);
    expect(report.verdicts.length).toBe(report.attempts.length * Object.keys(runtime.agents).length * 2);
    expect(report.attempts.some((a) => a.actual === 'allow')).toBe(true);
    expect(report.totals.byRole['destination-veth'].passed).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(report.files.json, 'utf8')).totals.failed).toBe(0);
  });
});
