import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports are chosen before the processes that bind them start, so they must not be handed to
 * anyone else in between. Port 0 would give an ephemeral port, which any outgoing connection on
 * the machine may take a moment later; so pick at random below the ephemeral range, and check
 * each is free now. Ports handed out by this process are never handed out twice.
 */
const given = new Set<number>();

function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralStart());
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (given.has(port)) continue;
    if (await isFree(port, host)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort(host));
  return ports;
}
