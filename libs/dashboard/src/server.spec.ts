import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { readEventStream } from '@reelmesh/http-kit';
import { parseWorkflow } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { graphOf } from './graph';
import type { DashboardEvent, DashboardState } from './model';
import type { PageAssets } from './page';
import { SESSION_COOKIE, startDashboardServer, type DashboardServer } from './server';
import { DashboardStore } from './store';

const page: PageAssets = {
  files: new Map([
    ['/', { body: Buffer.from('<!doctype html><title>t</title>'), type: 'text/html; charset=utf-8' }],
    ['/assets/dashboard.js', { body: Buffer.from('void 0'), type: 'text/javascript; charset=utf-8' }],
  ]),
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Open the one-time link: the session cookie it sets. */
async function login(server: DashboardServer): Promise<string> {
  const answer = await get(server.url);
  expect(answer.status).toBe(303);
  const cookie = String(answer.headers['set-cookie']);
  expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+; HttpOnly; SameSite=Strict; Path=/`));
  return cookie.split(';')[0];
}

let server: DashboardServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ server: DashboardServer; store: DashboardStore }> {
  const store = new DashboardStore(graphOf(parseWorkflow(MINI)));
  server = await startDashboardServer({ source: store, page });
  return { server, store };
}

describe('dashboard server', () => {
  it('listens on loopback only, with a random port and a long token in the printed link', async () => {
    const { server } = await start();
    const url = new URL(server.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(url.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses everything without the session: JSON errors, the page and the data alike', async () => {
    const { server } = await start();
    for (const path of ['/', '/api/state', '/api/events', '/assets/dashboard.js']) {
      const answer = await get(`${server.origin}${path}`);
      expect(answer.status, path).toBe(401);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'TOKEN_REQUIRED', message: expect.stringContaining('link') } });
    }
    const wrong = await get(`${server.origin}/?token=${'x'.repeat(43)}`);
    expect(wrong.status).toBe(403);
    expect(JSON.parse(wrong.body).error.code).toBe('BAD_TOKEN');
  });

  it('spends the token on first use: the cookie opens the page, a second use of the link is refused', async () => {
    const { server } = await start();
    const cookie = await login(server);
    const again = await get(server.url);
    expect(again.status).toBe(403);
    expect(JSON.parse(again.body).error.code).toBe('TOKEN_USED');
    const pageAnswer = await get(`${server.origin}/`, { cookie });
    expect(pageAnswer.status).toBe(200);
    expect(pageAnswer.body).toContain('<title>');
    // The browser that holds the session may open the link again (a reload): it is sent on.
    expect((await get(server.url, { cookie })).status).toBe(303);
    const forged = await get(`${server.origin}/`, { cookie: `${SESSION_COOKIE}=${'a'.repeat(43)}` });
    expect(forged.status).toBe(401);
  });

  it('answers only under its own host name (no DNS rebinding) and only GET/HEAD, with a closed CSP', async () => {
    const { server } = await start();
    const cookie = await login(server);
    const port = new URL(server.origin).port;
    const rebound = await get(`${server.origin}/api/state`, { cookie, host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).error.code).toBe('BAD_HOST');
    expect((await get(`${server.origin}/api/state`, { cookie, host: `localhost:${port}` })).status).toBe(200);
    const post = await get(`${server.origin}/api/state`, { cookie }, 'POST');
    expect(post.status).toBe(405);
    expect(JSON.parse(post.body).error.code).toBe('METHOD_NOT_ALLOWED');
    const answer = await get(`${server.origin}/`, { cookie });
    expect(answer.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(answer.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(answer.headers['x-frame-options']).toBe('DENY');
    const missing = await get(`${server.origin}/nope`, { cookie });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe('NOT_FOUND');
    const report = await get(`${server.origin}/api/report`, { cookie });
    expect(report.status).toBe(404);
    expect(JSON.parse(report.body).error.code).toBe('NO_REPORT');
  });

  it('pushes the state first, then every event, to each page (Server-Sent Events)', async () => {
    const { server, store } = await start();
    const cookie = await login(server);
    const received: DashboardEvent[] = [];
    const closed = new Promise<void>((resolve, reject) => {
      const req = request(`${server.origin}/api/events`, { headers: { cookie } }, (res) => {
        expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        readEventStream(res, (message) => {
          received.push(JSON.parse(message.data) as DashboardEvent);
          if (received.length === 1) {
            store.emit({ type: 'decision', decision: { id: 'd1', time: 't', agent: 'fx-1', source: 'owner', destination: 'fx-1', method: 'GET', path: '/admin', allowed: false, reason: 'handoff_not_allowed' } });
            store.emit({ type: 'run', run: { state: 'done', chunks: 3 } });
          }
          if (received.length === 3) res.destroy();
        });
        res.on('close', resolve);
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(e)));
      req.end();
    });
    await closed;
    expect(received[0].type).toBe('snapshot');
    const snapshot = (received[0] as { state: DashboardState }).state;
    expect(snapshot.graph.agents.map((a) => a.name)).toEqual(parseWorkflow(MINI).agents.map((a) => a.name));
    expect(received.slice(1).map((e) => e.type)).toEqual(['decision', 'run']);
    // The store applied the same events: a page that connects now gets them in its snapshot.
    const state = JSON.parse((await get(`${server.origin}/api/state`, { cookie })).body) as DashboardState;
    expect(state.decisions).toMatchObject({ denied: 1, allowed: 0 });
    expect(state.run).toEqual({ state: 'done', chunks: 3 });
  });
});
