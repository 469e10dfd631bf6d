import { execFileSync, spawn } from 'node:child_process';
import { describe, it, expect } from 'vitest';
import { cleanupStale, createPodNetwork, DEFAULT_IDENTITIES, egressRules, isolationSupport, listRunObjects, nsCommand, readLedgers, sh } from './index';

const support = isolationSupport();
if (!support.ok) console.warn(`SKIPPING netns tests: ${support.reason}`);

/** Run a one-off node snippet inside a namespace as a role; resolves with what it printed. */
function runIn(prefix: string[], code: string): string {
  return execFileSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', code], { encoding: 'utf8' }).trim();
}

const connectProbe = (host: string, port: number) =>
  `const s=require('net').connect(${port},'${host}');s.setTimeout(3000,()=>{console.log('timeout');process.exit(0)});` +
  `s.on('data',d=>{console.log('reached:'+d);process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;

describe('egress rules (text)', () => {
  it('lets only lo and the sidecar uid towards the subnet out, and rejects the rest with counters', () => {
    const rules = egressRules('10.213.0.0/24', DEFAULT_IDENTITIES);
    expect(rules).toContain('-A RM-EGRESS -o lo -j ACCEPT');
    expect(rules).toContain('-o eth0 -d 10.213.0.0/24 -m owner --uid-owner 1337 --gid-owner 1337 -j ACCEPT');
    expect(rules).toMatch(/--uid-owner 1338 -m comment --comment app-denied -j REJECT/);
    expect(rules.trim().split('\n').at(-2)).toMatch(/other-denied -j REJECT/);
    expect(nsCommand('rm-x-a', 'app')).toEqual(['ip', 'netns', 'exec', 'rm-x-a', 'setpriv', '--reuid=1338', '--regid=1338', '--clear-groups', '--no-new-privs', '--']);
  });
});

describe.skipIf(!support.ok)('pod network (root)', () => {
  it('connects pods over the bridge for the sidecar uid only, counts what it blocks, and leaves nothing behind', async () => {
    const net = await createPodNetwork({ pods: ['a', 'b'] });
    const server = spawn(net.command('b', 'sidecar')[0], [...net.command('b', 'sidecar').slice(1), process.execPath, '-e', `require('net').createServer(s=>s.end('hi')).listen(9000,'${net.pods.b.address}',()=>console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => server.stdout!.once('data', r));
      expect(runIn(net.command('a', 'sidecar'), connectProbe(net.pods.b.address, 9000))).toBe('reached:hi');
      expect(runIn(net.command('a', 'app'), connectProbe(net.pods.b.address, 9000))).toBe('EHOSTUNREACH');
      expect(runIn(net.command('a', 'root'), connectProbe(net.pods.b.address, 9000))).toBe('EHOSTUNREACH');
      const denials = await net.denials('a');
      expect(denials.app).toBeGreaterThan(0);
      expect(denials.other).toBeGreaterThan(0);
      // The app cannot lift the lock: it has no CAP_NET_ADMIN.
      expect(() => execFileSync('ip', [...net.command('a', 'app').slice(1), 'iptables', '-F'], { stdio: 'pipe' })).toThrow();
      expect((await listRunObjects(net.runId)).namespaces).toHaveLength(3);
    } finally {
      server.kill('SIGKILL');
      await net.destroy();
    }
    expect(await listRunObjects(net.runId)).toEqual({ namespaces: [], links: [] });
    expect(readLedgers().some((l) => l.runId === net.runId)).toBe(false);
    expect(await sh('iptables-save', [], { allowFail: true })).not.toContain(`rm-${net.runId}`);
  });

  it('cleanupStale removes what a killed run left: namespaces, veths, bridge, ledger', async () => {
    // A separate process builds a network and is SIGKILLed: no chance to tear anything down.
    const script = `import { createPodNetwork } from './libs/netns/src/index.ts'; const n = await createPodNetwork({ pods: ['x', 'y'] }); console.log(n.runId); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const runId = await new Promise<string>((r) => child.stdout!.once('data', (d) => r(String(d).trim())));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = await listRunObjects(runId);
    expect(left.namespaces.length).toBe(3);
    expect(left.links).toContain(`rm-${runId}-br`);
    const removed = await cleanupStale();
    expect(removed.namespaces).toEqual(expect.arrayContaining([`rm-${runId}-cp`, `rm-${runId}-x`, `rm-${runId}-y`]));
    expect(await listRunObjects(runId)).toEqual({ namespaces: [], links: [] });
    expect(readLedgers().some((l) => l.runId === runId)).toBe(false);
  });
});
