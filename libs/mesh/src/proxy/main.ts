// Runs one proxy sidecar as a process: `tsx libs/mesh/src/proxy/main.ts --agent vfx-1 ...`.
// The pod's bootstrap token comes from REELMESH_BOOTSTRAP_TOKEN (never argv: visible in ps).
// Prints one JSON ready line on stdout; access-log lines follow on stdout unless --access-log.
import { createWriteStream } from 'node:fs';
import { Command } from 'commander';
import { startProxy } from './proxy';

const program = new Command()
  .name('reelmesh-proxy')
  .requiredOption('--agent <name>', 'this pod’s agent name')
  .option('--spiffe-id <id>', 'expected SPIFFE id (checked against the SVID)')
  .requiredOption('--control-plane <url>', 'control plane URL (http://127.0.0.1:port or unix:/path)')
  .option('--policy-url <url>', 'policy sidecar base URL')
  .option('--policy-timeout-ms <ms>', 'fail closed after this long', '250')
  .option('--insecure-skip-policy', 'forward without asking a policy (benchmarks only)')
  .requiredOption('--app-url <url>', 'the app on the pod’s loopback')
  .option('--inbound-host <host>', 'interface of the mTLS listener', '127.0.0.1')
  .option('--inbound-port <port>', 'mTLS listener port', '0')
  .option('--outbound-port <port>', 'outbound listener port', '0')
  .option('--health-port <port>', 'health port', '0')
  .option('--access-log <path>', 'append access-log lines here instead of stdout')
  .parse();

const o = program.opts<{
  agent: string;
  spiffeId?: string;
  controlPlane: string;
  policyUrl?: string;
  policyTimeoutMs: string;
  insecureSkipPolicy?: boolean;
  appUrl: string;
  inboundHost: string;
  inboundPort: string;
  outboundPort: string;
  healthPort: string;
  accessLog?: string;
}>();

const token = process.env.REELMESH_BOOTSTRAP_TOKEN;
if (!token) {
  process.stderr.write(JSON.stringify({ ready: false, component: 'proxy', error: 'REELMESH_BOOTSTRAP_TOKEN is not set' }) + '\n');
  process.exit(1);
}

try {
  const proxy = await startProxy({
    agent: o.agent,
    spiffeId: o.spiffeId,
    controlPlane: { url: o.controlPlane, token },
    policyUrl: o.policyUrl,
    policyTimeoutMs: Number(o.policyTimeoutMs),
    insecureSkipPolicy: o.insecureSkipPolicy,
    appUrl: o.appUrl,
    inboundHost: o.inboundHost,
    inboundPort: Number(o.inboundPort),
    outboundPort: Number(o.outboundPort),
    healthPort: Number(o.healthPort),
    accessLog: o.accessLog ? createWriteStream(o.accessLog, { flags: 'a' }) : process.stdout,
  });
  process.stdout.write(
    JSON.stringify({
      ready: true,
      component: 'proxy',
      agent: proxy.agent,
      spiffeId: proxy.spiffeId,
      inboundPort: proxy.inboundPort,
      outboundPort: proxy.outboundPort,
      healthPort: proxy.healthPort,
    }) + '\n',
  );
  proxy.svidSource.on('error', (err) =>
    process.stderr.write(JSON.stringify({ component: 'proxy', event: 'svid_rotation_failed', error: err.message }) + '\n'),
  );
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (err) {
  process.stderr.write(JSON.stringify({ ready: false, component: 'proxy', error: (err as Error).message }) + '\n');
  process.exit(1);
}
