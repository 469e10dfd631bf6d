// Real servers over real sockets for the mesh's tests and benchmarks (not part of the public API).
import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import { closeServer, listen, request as kitRequest } from '@reelmesh/http-kit';
import type { AccessLogEntry } from '../proxy/access-log';
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
  return { url: await listen(server, '127.0.0.1:0'), seen, close: () => closeServer(server, 0) };
}

export type PolicyBehaviour = 'hang' | 'http500' | 'malformed' | ((input: OpaInput) => { allowed: boolean; reason: string });

/** The proxy specs' two pods: the owner and vfx-1, in one trust domain, and a handoff path between them. */
export const TD = 'reelmesh.local';
export const OWNER = `spiffe://${TD}/ns/owner/sa/owner`;
export const VFX1 = `spiffe://${TD}/ns/vfx/sa/vfx-1`;
export const HANDOFF = '/v1/handoffs/wf-1/demux/av/0';

/** A policy with the one edge owner -> vfx-1: allows whatever the owner sends, denies everyone else. */
export const ownerToVfx1Only: PolicyBehaviour = (input) =>
  input.attributes.source.principal === OWNER ? { allowed: true, reason: 'edge owner->vfx-1' } : { allowed: false, reason: 'not an edge' };

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
  return {
    url: await listen(server, '127.0.0.1:0'),
    inputs,
    setBehaviour: (b) => (current = b),
    close: () => closeServer(server, 0),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Plain HTTP request (the app calling its outbound proxy), body optional. `url` is a full
 * http:// URL, or `unix:<socket>` with the path given as `path`.
 */
export async function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent; path?: string } = {},
): Promise<Reply> {
  const [endpoint, path] = url.startsWith('unix:') ? [url, opts.path ?? '/'] : [new URL(url).origin, new URL(url).pathname + new URL(url).search];
  const res = await kitRequest(endpoint, path, {
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body,
    agent: opts.agent,
  });
  return { status: res.status, headers: res.headers, body: res.body.toString('utf8') };
}

/** The client side of an mTLS call: its key and chain (none: no client certificate) and the CA it trusts. */
export interface TlsClientIdentity {
  key?: string;
  cert?: string;
  ca: string;
}

export interface MtlsCallOptions {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Calls an inbound mTLS listener on 127.0.0.1 directly, as another pod (or an attacker) would: TLS
 * 1.3, the server's chain verified against `ca` (its name is not checked), a body unless GET.
 * Rejects when the connection is refused or closed.
 */
export function mtlsCall(port: number, tlsOpts: TlsClientIdentity, opts: MtlsCallOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path ?? '/',
        headers: { host: opts.host ?? 'localhost', ...opts.headers },
        ...tlsOpts,
        minVersion: 'TLSv1.3',
        agent: false,
        checkServerIdentity: () => undefined,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body ?? (opts.method === 'GET' ? undefined : 'chunk'));
  });
}

/** Where a proxy writes its access log (`accessLog: stream`), kept as parsed entries. */
export function collectAccessLog(): { stream: PassThrough; entries: AccessLogEntry[] } {
  const entries: AccessLogEntry[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line) entries.push(JSON.parse(line));
  });
  return { stream, entries };
}
