// Where a service listens and how a client reaches it, in one notation:
//   listen address: "127.0.0.1:0", "[::1]:8181", "0.0.0.0:8080" (TCP; port 0 = any free port),
//                   or "unix:/abs/path.sock" (a Unix socket);
//   endpoint URL:   "http://127.0.0.1:41234", "https://10.0.0.5:15006" or "unix:/abs/path.sock".
// A service binds what it is given and reports the endpoint it really got (see ready-line.ts),
// so nobody has to guess a free port in advance.
import { chmod, lstat, rm } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { isAbsolute } from 'node:path';

export type ListenAddress = { host: string; port: number } | { path: string };

/** Longest Unix socket path Linux and macOS accept (sun_path less its terminator). */
export const MAX_SOCKET_PATH = 103;

export function parseListenAddress(spec: string | ListenAddress): ListenAddress {
  if (typeof spec !== 'string') return spec;
  if (spec.startsWith('unix:')) return { path: socketPathOf(spec) };
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(spec);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new TypeError(`listen address must be <host>:<port> or unix:<absolute path>, got ${JSON.stringify(spec)}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function socketPathOf(url: string): string {
  const path = url.slice('unix:'.length);
  if (!isAbsolute(path)) throw new TypeError(`a Unix socket address needs an absolute path, got ${JSON.stringify(url)}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new TypeError(`Unix socket path is longer than ${MAX_SOCKET_PATH} bytes: ${path}`);
  return path;
}

/**
 * Binds `server` and returns the endpoint URL it got. A Unix socket is created mode 0600 (a stale
 * socket file left by a crashed run is replaced; any other file in the way is an error).
 */
export async function listen(server: Server, address: string | ListenAddress, scheme: 'http' | 'https' = 'http'): Promise<string> {
  const at = parseListenAddress(address);
  if ('path' in at) {
    const existing = await lstat(at.path).catch(() => undefined);
    if (existing?.isSocket()) await rm(at.path, { force: true });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in at) server.listen(at.path, done);
    else server.listen(at.port, at.host, done);
  });
  if ('path' in at) {
    await chmod(at.path, 0o600);
    return `unix:${at.path}`;
  }
  return endpointOf(server, scheme);
}

/** The URL of a TCP server that is already listening. */
export function endpointOf(server: Server, scheme: 'http' | 'https' = 'http'): string {
  const address = server.address();
  if (typeof address === 'string') return `unix:${address}`;
  const { address: host, family, port } = address as AddressInfo;
  return `${scheme}://${family === 'IPv6' ? `[${host}]` : host}:${port}`;
}

/**
 * Stops accepting and closes idle keep-alive connections at once; requests in flight may finish
 * for `graceMs` (default: as long as they take), then every connection is closed.
 */
export function closeServer(server: Server & { closeIdleConnections?: () => void; closeAllConnections?: () => void }, graceMs = Infinity): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = Number.isFinite(graceMs) ? setTimeout(() => server.closeAllConnections?.(), graceMs) : undefined;
    timer?.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections?.();
    if (graceMs <= 0) server.closeAllConnections?.();
  });
}

/** How node:http / node:net reach an endpoint URL: a socket path, or a host and port. */
export type ConnectTarget = { socketPath: string; basePath: string } | { host: string; port: number; basePath: string; tls: boolean };

export function connectTarget(url: string): ConnectTarget {
  if (url.startsWith('unix:')) return { socketPath: socketPathOf(url), basePath: '' };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`not an endpoint URL (http://host:port, https://host:port or unix:/path): ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`endpoint URL must be http(s):// or unix:, got ${url}`);
  const tls = u.protocol === 'https:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (tls ? 443 : 80)), basePath: u.pathname.replace(/\/+$/, ''), tls };
}

/** The node:http request options that reach an endpoint URL: `{ socketPath }` or `{ host, port }`. */
export function connectOptions(url: string): { socketPath: string } | { host: string; port: number } {
  const target = connectTarget(url);
  return 'socketPath' in target ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
}
