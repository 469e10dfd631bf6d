// Real servers over real sockets for the mesh's tests and benchmarks (not part of the public API).
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpaInput } from '../proxy/opa-input';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  sha256: string;
}

export interface EchoApp {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * The app behind a proxy: hashes the streamed body (never holds it) and answers JSON with what it
 * saw. `record: false` keeps benchmarks from accumulating history.
 */
export async function startEchoApp(opts: { record?: boolean; hash?: boolean } = {}): Promise<EchoApp> {
  const seen: SeenRequest[] = [];
  const record = opts.record ?? true;
  const hashing = opts.hash ?? true;
  const server = http.createServer((req, res) => {
    const hash = hashing ? createHash('sha256') : undefined;
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      hash?.update(c);
    });
    req.on('end', () => {
      const sha256 = hash?.digest('hex') ?? '';
      const s: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes, sha256 };
      if (record) seen.push(s);
      const body = JSON.stringify({ peer: req.headers['x-reelmesh-peer'] ?? null, bytes, sha256: s.sha256 });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, seen, close: () => closeServer(server) };
}

export type PolicyBehaviour = 'hang' | 'http500' | 'malformed' | ((input: OpaInput) => { allowed: boolean; reason: string });

export interface FakeOpa {
  url: string;
  inputs: OpaInput[];
  setBehaviour(b: PolicyBehaviour): void;
  close(): Promise<void>;
}

/**
 * A tiny real HTTP server speaking the policy sidecar's OPA REST shape
 * (POST /v1/data/reelmesh/authz/decision {"input"} -> {"result": {allowed, reason}}).
 */
export async function startOpaShapedPolicy(behaviour: PolicyBehaviour, opts: { record?: boolean } = {}): Promise<FakeOpa> {
  const inputs: OpaInput[] = [];
  const record = opts.record ?? true;
  let current = behaviour;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/data/reelmesh/authz/decision') {
        res.writeHead(404).end('{}');
        return;
      }
      const { input } = JSON.parse(body) as { input: OpaInput };
      if (record) inputs.push(input);
      if (current === 'hang') return; // never answers
      if (current === 'http500') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"internal_error"}');
      const payload = current === 'malformed' ? '{"result":{"allowed":"yes"}}' : JSON.stringify({ result: current(input) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    inputs,
    setBehaviour: (b) => (current = b),
    close: () => closeServer(server),
  };
}

export function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Plain HTTP request (the app calling its outbound proxy), body optional. */
export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
