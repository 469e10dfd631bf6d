// The pod half of the port-forwards, run as root inside a pod namespace:
// `node main.ts --map /run/reelmesh-netns/<run>/<pod>/app.sock=8080 ...`
// (a target is a port on 127.0.0.1, or <address>:<port> of the pod itself).
// The sockets live in a root-only (0700) folder, so no app uid can use them to hop between pods.
// Ready line endpoints: one `unix:<socket>` per map, named by its target.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, runService } from '@reelmesh/http-kit';
import { podForward } from '@reelmesh/netns';

runService('port-forwarder', async () => {
  const { values } = parseArgs({ options: { map: { type: 'string', multiple: true } }, strict: true });
  const maps = (values.map ?? []).map((m) => {
    const at = m.lastIndexOf('=');
    const target = m.slice(at + 1);
    const colon = target.lastIndexOf(':');
    const host = colon >= 0 ? target.slice(0, colon) : '127.0.0.1';
    const port = Number(target.slice(colon + 1));
    if (at < 1 || !host || !Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`--map wants <socket>=[<host>:]<port>, got ${m}`);
    return { socketPath: m.slice(0, at), host, port, target };
  });
  if (maps.length === 0) throw new ConfigError('give at least one --map <socket>=[<host>:]<port>');
  const servers = await Promise.all(
    maps.map(({ socketPath, host, port }) => {
      rmSync(socketPath, { force: true });
      return podForward(socketPath, port, host);
    }),
  );
  return {
    endpoints: Object.fromEntries(maps.map((m) => [m.target, `unix:${m.socketPath}`])),
    stop: async () => {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
});
