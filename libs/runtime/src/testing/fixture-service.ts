// A small service for the process-group specs, started the way the runtime starts every process
// (runService: one ready line, SIGTERM and parent death handled). It answers GET / with its pid
// and node's flags (process.execArgv).
//   --listen <address>        where to listen (or FIXTURE_LISTEN): host:port (0 = any free port) or unix:/path
//   --socket unix:<path>      a second listener, as a pod's sidecars have
//   --once <marker file>      starts once (and writes the file); every later start fails with an error line
//   FIXTURE_READY_DELAY_MS    wait this long before listening (a restart that is slow to come up)
import { writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { closeServer, ConfigError, listen, runService } from '@reelmesh/http-kit';

runService('fixture-service', async () => {
  const { values: o } = parseArgs({ options: { listen: { type: 'string' }, socket: { type: 'string' }, once: { type: 'string' } }, strict: true });
  if (o.once && existsSync(o.once)) throw new ConfigError(`fixture already started once (${o.once})`);
  if (o.once) writeFileSync(o.once, String(process.pid));
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.FIXTURE_READY_DELAY_MS ?? 0)));
  const servers: Server[] = [];
  const serve = (address: string) => {
    const server = createServer((_req, res) => res.end(JSON.stringify({ pid: process.pid, execArgv: process.execArgv })));
    servers.push(server);
    return listen(server, address);
  };
  const endpoints: Record<string, string> = { api: await serve(o.listen ?? process.env.FIXTURE_LISTEN ?? '127.0.0.1:0') };
  if (o.socket) endpoints.socket = await serve(o.socket);
  return { endpoints, stop: async () => void (await Promise.all(servers.map((s) => closeServer(s, 1_000)))) };
});
