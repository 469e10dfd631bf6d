// The proxy sidecar of one pod: `node main.ts --agent vfx-1 --control-plane <url>
// (--policy-check <unix:/pod/check.sock> | --policy-url <OPA REST url>) --app-url <url> [--inbound 127.0.0.1:0] [--outbound unix:/pod/outbound.sock] [--health <addr>]`.
// The pod's bootstrap token comes from REELMESH_BOOTSTRAP_TOKEN (never argv: visible in ps), and the
// pod's own secret from REELMESH_POD_TOKEN (optional): added to every request forwarded to the app,
// required on every request to the outbound listener — the pod's plain hops stay inside the pod.
// Ready line endpoints: inbound (https://host:port, registered with the control plane), outbound,
// health. Access-log lines go to --access-log, else to stdout.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, runService } from '@reelmesh/http-kit';
import { startProxy } from '@reelmesh/mesh';
import { CONTROL_PLANE_STARTUP_WAIT_MS } from '@reelmesh/workload-identity';

runService('proxy-sidecar', async () => {
  const { values: o } = parseArgs({
    options: {
      agent: { type: 'string' },
      'spiffe-id': { type: 'string' },
      'control-plane': { type: 'string' },
      'policy-url': { type: 'string' },
      'policy-check': { type: 'string' },
      'policy-timeout-ms': { type: 'string', default: '250' },
      'insecure-skip-policy': { type: 'boolean', default: false },
      'app-url': { type: 'string' },
      inbound: { type: 'string', default: '127.0.0.1:0' },
      outbound: { type: 'string', default: '127.0.0.1:0' },
      health: { type: 'string' },
      'access-log': { type: 'string' },
    },
    strict: true,
  });
  const required = (name: 'agent' | 'control-plane' | 'app-url') => o[name] ?? fail(`--${name} is required`);
  const token = process.env.REELMESH_BOOTSTRAP_TOKEN || fail('REELMESH_BOOTSTRAP_TOKEN is not set');
  const timeout = Number(o['policy-timeout-ms']);
  if (!(timeout > 0)) fail(`--policy-timeout-ms must be a positive number, got ${o['policy-timeout-ms']}`);
  const accessLog = o['access-log'] ? createWriteStream(o['access-log'], { flags: 'a' }) : process.stdout;

  const proxy = await startProxy({
    agent: required('agent'),
    spiffeId: o['spiffe-id'],
    controlPlane: { url: required('control-plane'), token },
    // Started (or restarted) while the control plane itself restarts: wait for it rather than
    // exit and spend this sidecar's restart budget on another process's outage.
    controlPlaneStartupWaitMs: CONTROL_PLANE_STARTUP_WAIT_MS,
    policyUrl: o['policy-url'],
    policyCheck: o['policy-check'],
    policyTimeoutMs: timeout,
    insecureSkipPolicy: o['insecure-skip-policy'],
    appUrl: required('app-url'),
    inbound: o.inbound,
    outbound: o.outbound,
    podToken: process.env.REELMESH_POD_TOKEN || undefined,
    health: o.health,
    accessLog,
  });
  proxy.svidSource.on('error', (err) => process.stderr.write(`${JSON.stringify({ service: 'proxy-sidecar', event: 'svid_rotation_failed', message: err.message })}\n`));
  return {
    endpoints: proxy.endpoints,
    details: { agent: proxy.agent, spiffeId: proxy.spiffeId },
    async stop() {
      await proxy.close();
      if (accessLog !== process.stdout) await new Promise<void>((resolve) => accessLog.end(resolve));
    },
  };
});

function fail(message: string): never {
  throw new ConfigError(message);
}
