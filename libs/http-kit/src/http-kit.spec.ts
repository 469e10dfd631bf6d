import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServer,
  connectTarget,
  errorBody,
  HttpError,
  listen,
  parseListenAddress,
  parseServiceLine,
  readJsonBody,
  readyLine,
  request,
  requestJson,
  ResponseError,
  sendError,
  sendJson,
  toHttpError,
} from './index';

const servers: http.Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => closeServer(s)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function serve(handler: http.RequestListener, address: string): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  return listen(server, address);
}

async function socketDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rm-kit-'));
  dirs.push(dir);
  return dir;
}

describe('errors', () => {
  it('keeps the status and code of errors that carry them, hides the message of internal ones', () => {
    expect(errorBody(toHttpError(new HttpError(409, 'SLOT_CONFLICT', 'taken')))).toEqual({ error: { code: 'SLOT_CONFLICT', message: 'taken' } });
    const storeError = Object.assign(new Error('bundle revision 3 is older'), { status: 409, code: 'BUNDLE_REVISION_REPLAYED' });
    expect(errorBody(toHttpError(storeError))).toEqual({ error: { code: 'BUNDLE_REVISION_REPLAYED', message: 'bundle revision 3 is older' } });
    expect(errorBody(toHttpError(new Error('ENOENT /secret')))).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(errorBody(new HttpError(503, 'KMS_UNAVAILABLE', 'kms at 10.0.0.3 down'))).toEqual({ error: { code: 'KMS_UNAVAILABLE', message: 'internal error' } });
    expect(errorBody(new HttpError(503, 'KMS_UNAVAILABLE', 'retry later', { expose: true })).error.message).toBe('retry later');
  });
});

describe('listen and reach', () => {
  it('binds port 0 and reports the port it got', async () => {
    const url = await serve((_req, res) => sendJson(res, 200, { ok: true }), '127.0.0.1:0');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
    expect(await requestJson(url, '/x')).toEqual({ ok: true });
  });

  it('binds a Unix socket (mode 0600) and the client reaches it', async () => {
    const path = join(await socketDir(), 'api.sock');
    const url = await serve((req, res) => sendJson(res, 200, { path: req.url }), `unix:${path}`);
    expect(url).toBe(`unix:${path}`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await requestJson(url, '/v1/status')).toEqual({ path: '/v1/status' });
  });

  it('replaces a stale socket but never another file', async () => {
    const dir = await socketDir();
    const first = http.createServer();
    await listen(first, `unix:${join(dir, 'a.sock')}`);
    // A crashed owner leaves its socket file behind: the next start takes the path over.
    await new Promise<void>((resolve) => first.close(() => resolve()));
    await writeFile(join(dir, 'a.sock.keep'), 'x');
    const again = await serve((_req, res) => sendJson(res, 200, {}), `unix:${join(dir, 'a.sock')}`);
    expect(again).toBe(`unix:${join(dir, 'a.sock')}`);
    await writeFile(join(dir, 'file'), 'not a socket');
    await expect(serve(() => undefined, `unix:${join(dir, 'file')}`)).rejects.toThrow(/EADDRINUSE/);
  });

  it('refuses addresses it cannot bind safely', () => {
    expect(() => parseListenAddress('localhost')).toThrow(/host>:<port/);
    expect(() => parseListenAddress('unix:relative.sock')).toThrow(/absolute/);
    expect(() => parseListenAddress(`unix:/${'x'.repeat(120)}`)).toThrow(/longer than/);
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(connectTarget('http://127.0.0.1:8181/base/')).toEqual({ host: '127.0.0.1', port: 8181, basePath: '/base', tls: false });
  });
});

describe('bodies and answers', () => {
  it('caps a body and answers 413 with the JSON error, closing the unread connection', async () => {
    const url = await serve((req, res) => {
      readJsonBody(req, { limit: 16, what: 'input' }).then(
        (body) => sendJson(res, 200, { body }),
        (error: unknown) => sendError(req, res, error),
      );
    }, '127.0.0.1:0');
    expect(await requestJson(url, '/', { json: { a: 1 } })).toEqual({ body: { a: 1 } });
    const big = await request(url, '/', { json: { a: 'x'.repeat(100) } });
    expect(big.status).toBe(413);
    expect(big.json()).toEqual({ error: { code: 'BODY_TOO_LARGE', message: 'input body is larger than 16 bytes' } });
    expect(big.headers.connection).toBe('close');
    const bad = await request(url, '/', { body: Buffer.from('{oops'), headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { code: string } }>()?.error.code).toBe('BAD_JSON');
    const array = await request(url, '/', { json: [1, 2] });
    expect(array.json<{ error: { message: string } }>()?.error.message).toBe('input body must be a JSON object');
  });

  it('requestJson turns a JSON error answer into a ResponseError with the service code', async () => {
    const url = await serve((req, res) => sendError(req, res, new HttpError(403, 'FORBIDDEN', 'only the admin')), '127.0.0.1:0');
    const error = await requestJson(url, '/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error).toMatchObject({ status: 403, code: 'FORBIDDEN', message: 'only the admin' });
  });
});

describe('the service line', () => {
  it('round-trips ready and error lines and ignores ordinary log lines', () => {
    const ready = readyLine('policy-sidecar', { api: 'unix:/tmp/p.sock' }, { revision: '3' });
    expect(parseServiceLine(ready)).toEqual({ event: 'ready', service: 'policy-sidecar', pid: process.pid, endpoints: { api: 'unix:/tmp/p.sock' }, details: { revision: '3' } });
    expect(parseServiceLine('{"level":30,"msg":"ready"}')).toBeUndefined();
    expect(parseServiceLine('{"event":"ready","service":"x","pid":1,"endpoints":{"a":3}}')).toBeUndefined();
    expect(parseServiceLine('ready')).toBeUndefined();
  });

  it('a service started with runService prints its ready line, then stops on SIGTERM', async () => {
    const dir = await socketDir();
    const script = join(dir, 'svc.ts');
    await writeFile(
      script,
      `import http from 'node:http';
import { listen, closeServer, runService } from '${join(process.cwd(), 'libs/http-kit/src/index.ts')}';
runService('demo', async () => {
  if (process.argv[2] === 'fail') throw Object.assign(new Error('--agent is required'), { code: 'CONFIG_INVALID' });
  const server = http.createServer((_q, s) => s.end('ok'));
  const url = await listen(server, '127.0.0.1:0');
  return { endpoints: { api: url }, stop: async () => { await closeServer(server); process.stdout.write('stopped\\n'); } };
});
`,
    );
    const run = (arg: string) =>
      new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
          if (stdout.includes('"event":"ready"') && !stdout.includes('stopped')) child.kill('SIGTERM');
        });
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ stdout, stderr, code }));
      });
    const ok = await run('ok');
    const line = parseServiceLine(ok.stdout.split('\n')[0]);
    expect(line).toMatchObject({ event: 'ready', service: 'demo', endpoints: { api: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) } });
    expect(ok.stdout).toContain('stopped');
    expect(ok.code).toBe(0);
    const failed = await run('fail');
    expect(failed.code).toBe(1);
    expect(parseServiceLine(failed.stderr.trim())).toMatchObject({ event: 'error', service: 'demo', code: 'CONFIG_INVALID', message: '--agent is required' });
  });
});
