// The dashboard's web server: loopback only, a one-time token in the URL it prints (exchanged for a
// session cookie on first use, as notebook servers do), the page's bundled assets, the state as
// JSON and its changes pushed as Server-Sent Events. Nothing else on the machine can read it:
// other Hosts are refused (DNS rebinding), the cookie is HttpOnly and SameSite=Strict, and the
// page may load nothing but its own assets (Content-Security-Policy).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, HttpError, listen, openEventStream, sendError, sendJson, type EventStream } from '@reelmesh/http-kit';
import type { DashboardEvent, DashboardState } from './model';
import type { PageAssets } from './page';

/** Where the server reads the state and hears of its changes (a DashboardStore). */
export interface DashboardSource {
  state(): DashboardState;
  subscribe(listener: (event: DashboardEvent) => void): () => void;
}

export interface DashboardServerOptions {
  source: DashboardSource;
  page: PageAssets;
  /** An SSE client this far behind (bytes buffered) is cut off; it reconnects and gets a fresh snapshot. */
  maxBufferedBytes?: number;
  /** Comment line sent to every SSE client this often, so proxies and browsers keep the stream (ms). */
  heartbeatMs?: number;
}

export interface DashboardServer {
  /** The URL to open once: origin plus the one-time token. */
  url: string;
  origin: string;
  close(): Promise<void>;
}

export const SESSION_COOKIE = 'reelmesh_dashboard';

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

const secret = () => randomBytes(32).toString('base64url');

function sameSecret(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string' || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export async function startDashboardServer(opts: DashboardServerOptions): Promise<DashboardServer> {
  const token = secret();
  const session = secret();
  let tokenUsed = false;
  const clients = new Set<EventStream>();
  const maxBuffered = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  let port = 0;
  const hostName = '127.0.0.1';

  const allowedHosts = () => new Set([`${hostName}:${port}`, `localhost:${port}`]);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!allowedHosts().has(req.headers.host ?? '')) throw new HttpError(403, 'BAD_HOST', `this dashboard answers only as http://${hostName}:${port}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not served; the dashboard is read-only`);
    const url = new URL(req.url ?? '/', `http://${hostName}:${port}`);
    const hasSession = sameSecret(cookieOf(req, SESSION_COOKIE), session);
    const offered = url.searchParams.get('token');
    if (offered !== null) {
      // The token opens one browser session: exchanged once for the cookie, then spent.
      if (!tokenUsed && sameSecret(offered, token)) {
        tokenUsed = true;
        res.writeHead(303, { location: url.pathname, 'set-cookie': `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/` });
        res.end();
        return;
      }
      if (hasSession) {
        res.writeHead(303, { location: url.pathname });
        res.end();
        return;
      }
      throw new HttpError(403, tokenUsed ? 'TOKEN_USED' : 'BAD_TOKEN', tokenUsed ? 'this dashboard link was already opened; open the page in the browser that opened it, or restart with --dashboard for a new link' : 'wrong dashboard token');
    }
    if (!hasSession) throw new HttpError(401, 'TOKEN_REQUIRED', 'open the dashboard with the link (and its token) printed when it started');
    if (url.pathname === '/api/state') return sendJson(res, 200, opts.source.state());
    if (url.pathname === '/api/report') {
      const report = opts.source.state().report;
      if (!report) throw new HttpError(404, 'NO_REPORT', 'the run has not finished: no report yet');
      return sendJson(res, 200, report);
    }
    if (url.pathname === '/api/events') return stream(req, res);
    const asset = opts.page.files.get(url.pathname);
    if (!asset) throw new HttpError(404, 'NOT_FOUND', `no such page: ${url.pathname}`);
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

  /** Server-Sent Events: the whole state first, then every change as it happens. */
  const stream = (req: IncomingMessage, res: ServerResponse) => {
    let unsubscribe = () => {};
    const events = openEventStream(req, res, {
      maxBufferedBytes: maxBuffered,
      heartbeatMs: opts.heartbeatMs,
      retryMs: 2_000,
      onClose: () => {
        unsubscribe();
        clients.delete(events);
      },
    });
    events.send({ type: 'snapshot', state: opts.source.state() } satisfies DashboardEvent);
    unsubscribe = opts.source.subscribe((event) => events.send(event));
    clients.add(events);
  };

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      sendError(req, res, error);
    }
  });
  // Loopback only, on a port the system chooses.
  await listen(server, `${hostName}:0`);
  port = (server.address() as AddressInfo).port;
  const origin = `http://${hostName}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    async close() {
      for (const events of clients) events.end();
      clients.clear();
      await closeServer(server);
    },
  };
}
