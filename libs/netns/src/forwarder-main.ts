// The pod half of the port-forwards, run as root inside a pod namespace:
// `tsx libs/netns/src/forwarder-main.ts --map /run/reelmesh-netns/<run>/<pod>/app.sock=3000 ...`
// (a target is a port on 127.0.0.1, or <address>:<port> of the pod itself).
// The sockets live in a root-only (0700) folder, so no app uid can use them to hop between pods.
// Prints one JSON ready line on stdout.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { podForward } from './forward';

const { values } = parseArgs({ options: { map: { type: 'string', multiple: true } }, strict: true });
const maps = (values.map ?? []).map((m) => {
  const at = m.lastIndexOf('=');
  const target = m.slice(at + 1);
  const colon = target.lastIndexOf(':');
  const host = colon >= 0 ? target.slice(0, colon) : '127.0.0.1';
  const port = Number(target.slice(colon + 1));
  if (at < 1 || !host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--map wants <socket>=[<host>:]<port>, got ${m}`);
  return { socketPath: m.slice(0, at), host, port };
});

try {
  const servers = await Promise.all(
    maps.map(({ socketPath, host, port }) => {
      rmSync(socketPath, { force: true });
      return podForward(socketPath, port, host);
    }),
  );
  process.stdout.write(`${JSON.stringify({ ready: true, component: 'forwarder', maps })}\n`);
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  process.stderr.write(`${JSON.stringify({ ready: false, component: 'forwarder', error: (error as Error).message })}\n`);
  process.exit(1);
}
