import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { listen } from '@reelmesh/http-kit';

/** Splice two sockets; either side closing or failing tears down both. */
export function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}

export interface HostForward {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * The host half of a pod port-forward (what kubectl port-forward does through the kubelet): a
 * listener on the host's 127.0.0.1 spliced to a root-only unix socket served by the forwarder
 * inside the pod's namespace. Pods cannot reach the host's loopback, so nothing new is exposed.
 */
export async function hostForward(socketPath: string): Promise<HostForward> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    splice(client, createConnection({ path: socketPath }));
  });
  const url = await listen(server, '127.0.0.1:0');
  return {
    port: Number(new URL(url).port),
    url,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The pod half: unix socket -> host:port (default 127.0.0.1) inside the namespace this process runs in. */
export async function podForward(socketPath: string, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((client) => splice(client, createConnection({ host, port })));
  await listen(server, `unix:${socketPath}`);
  return server;
}
