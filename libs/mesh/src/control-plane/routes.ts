import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '@reelmesh/http-kit';

/**
 * Who is calling: the owner's admin token, or a workload: by its bootstrap token (bound to one
 * SPIFFE id) or, with mesh identity on, by the SPIFFE id its sidecar verified (`via: 'mesh'`).
 */
export type Caller = { admin: true } | { admin: false; workload: Workload; via?: 'token' | 'mesh' };

export interface Workload {
  actor: string;
  agent: string;
  spiffeId: string;
}

/**
 * Who may call a route: anyone (health), any authenticated caller, only the admin (the owner),
 * only a workload, or the admin and the workload the path names (a pod speaks only for itself).
 */
export type Access = 'public' | 'authenticated' | 'admin' | 'workload' | 'self-or-admin';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  caller: Caller;
  /** The decoded capture of the path pattern (the agent in /v1/registry/<agent>). */
  param: string;
}

export interface Route {
  method: string;
  /** An exact path, or a pattern with one capture (the agent). */
  path: string | RegExp;
  access: Access;
  /** The 403 message when access is refused. */
  refusal?: string;
  /** Whether a caller known only by mesh identity may use it (its SVID, its audit events, reading the policy in force). */
  mesh?: boolean;
  handle(ctx: RouteContext): Promise<void> | void;
}

/**
 * Finds the route for a request and enforces its access rule; 404 for an unknown path, 405 for a
 * known path with another method. Authentication (the bearer token) happens once, here.
 */
export async function dispatch(routes: readonly Route[], req: IncomingMessage, res: ServerResponse, authenticate: (req: IncomingMessage) => Caller): Promise<void> {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0];
  const matching = routes
    .map((route) => ({ route, match: typeof route.path === 'string' ? (route.path === path ? [path] : null) : route.path.exec(path) }))
    .filter((m): m is { route: Route; match: RegExpExecArray | string[] } => m.match !== null);
  if (matching.length === 0) throw new HttpError(404, 'NOT_FOUND', `no route ${method} ${path}`);
  const found = matching.find((m) => m.route.method === method);
  if (!found) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${[...new Set(matching.map((m) => m.route.method))].join(' or ')} ${path}`);
  const { route, match } = found;
  const param = match[1] === undefined ? '' : decodeURIComponent(match[1]);
  const caller: Caller = route.access === 'public' ? NOBODY : authenticate(req);
  if (!caller.admin && caller.via === 'mesh' && !route.mesh) throw new HttpError(403, 'FORBIDDEN', `${method} ${path} needs a token; a mesh identity may only fetch its SVID, read the policy and submit audit events`);
  if (!allowed(route.access, caller, param)) throw new HttpError(403, 'FORBIDDEN', route.refusal ?? 'not allowed');
  await route.handle({ req, res, caller, param });
}

/** The caller of a public route: no token was read, so it is nobody (never the admin, never a pod). */
const NOBODY: Caller = Object.freeze({ admin: false, workload: Object.freeze({ actor: '', agent: '', spiffeId: '' }) });

function allowed(access: Access, caller: Caller, param: string): boolean {
  switch (access) {
    case 'public':
    case 'authenticated':
      return true;
    case 'admin':
      return caller.admin;
    case 'workload':
      return !caller.admin;
    case 'self-or-admin':
      return caller.admin || caller.workload.agent === param;
  }
}
