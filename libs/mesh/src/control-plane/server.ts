import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditLedger, AuditLedgerError, createSigner, LEDGER_AGENT, type AuditComponent, type SigningMaterial } from '@reelmesh/provenance';
import type { ObjectStore } from '@reelmesh/storage';
import { createCa, DEFAULT_SVID_TTL_SECONDS, type Ca } from '../ca/ca';
import { HttpError, readJsonBody, sendError, sendJson } from '../http-json';
import { formatSpiffeId } from '../spiffe';
import { PolicyStore, PolicyStoreError } from './policy-store';
import { MemoryRegistry, type RegistryEntry } from './registry';

export interface Workload {
  actor: string;
  agent: string;
  spiffeId: string;
}

export interface ControlPlaneOptions {
  trustDomain: string;
  /** Persist the CA root here. */
  dir?: string;
  /** Loopback TCP (default 127.0.0.1:0) or a unix socket path (mode 0600). */
  listen?: { host?: string; port?: number } | { socketPath: string };
  /** Token for enrolling workloads over the API; random if absent. */
  adminToken?: string;
  /** Lifetime of issued SVIDs (default 1 h); callers may ask for less, never more. */
  svidTtlSeconds?: number;
  /** Reuse an existing CA instead of creating one. */
  ca?: Ca;
  /**
   * The owner's audit ledger, fed by every pod (apps: handoffs, policy sidecars: decisions). Its
   * checkpoints are signed with an SVID of the owner's namespace (ns/<ownerActor>/sa/audit-ledger).
   */
  audit?: { store: ObjectStore; workflowId: string; ownerActor: string; checkpointEvery?: number };
  /** Signed-policy mode: the owner's bundle-signing public key; the store takes nothing else. */
  policyBundleKey?: { publicKeyPem: string; keyId?: string };
}

export interface ControlPlane {
  /** `http://127.0.0.1:<port>` or `unix:<path>`, what ControlPlaneClient takes. */
  url: string;
  ca: Ca;
  registry: MemoryRegistry;
  /** The owner's policy store, pushing the data document to every policy sidecar. */
  policies: PolicyStore;
  /** The audit ledger, when configured. */
  ledger?: AuditLedger;
  adminToken: string;
  /** Enrol a workload and return its per-pod bootstrap token (given to the pod at spawn). */
  enroll(workload: { actor: string; agent: string }): { token: string; spiffeId: string };
  close(): Promise<void>;
}

/**
 * The control plane's local API. Workloads authenticate with the bootstrap token they were
 * spawned with; the token binds them to one SPIFFE id, so a pod can only get its own SVID and
 * register only its own address.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const ca = opts.ca ?? (await createCa({ trustDomain: opts.trustDomain, dir: opts.dir }));
  const registry = new MemoryRegistry();
  const policies = new PolicyStore(undefined, opts.policyBundleKey);
  const maxTtl = opts.svidTtlSeconds ?? DEFAULT_SVID_TTL_SECONDS;
  const adminToken = opts.adminToken ?? randomBytes(32).toString('base64url');
  const adminHash = sha256(adminToken);
  const workloadsByTokenHash = new Map<string, Workload>();
  const enrolled = new Map<string, Workload>();
  const ledger = opts.audit && (await openLedger(ca, opts.audit));

  function enroll(w: { actor: string; agent: string }): { token: string; spiffeId: string } {
    const spiffeId = formatSpiffeId(ca.trustDomain, w.actor, w.agent);
    const token = randomBytes(32).toString('base64url');
    const workload = { actor: w.actor, agent: w.agent, spiffeId };
    workloadsByTokenHash.set(sha256(token).toString('hex'), workload);
    enrolled.set(w.agent, workload);
    return { token, spiffeId };
  }

  type Caller = { admin: true } | { admin: false; workload: Workload };
  function authenticate(req: IncomingMessage): Caller {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError(401, 'UNAUTHENTICATED', 'missing bearer token');
    const hash = sha256(m[1]);
    if (timingSafeEqual(hash, adminHash)) return { admin: true };
    const workload = workloadsByTokenHash.get(hash.toString('hex'));
    if (!workload) throw new HttpError(401, 'UNAUTHENTICATED', 'unknown token');
    return { admin: false, workload };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
    const caller = authenticate(req);

    if (req.method === 'POST' && path === '/v1/svid') {
      if (caller.admin) throw new HttpError(403, 'FORBIDDEN', 'SVIDs are issued to workloads, not the admin');
      const body = (await readJsonBody(req)) as { ttlSeconds?: unknown };
      const asked = typeof body.ttlSeconds === 'number' && body.ttlSeconds > 0 ? body.ttlSeconds : maxTtl;
      const svid = await ca.issue({ spiffeId: caller.workload.spiffeId, ttlSeconds: Math.min(asked, maxTtl) });
      return sendJson(res, 200, svid);
    }
    if (req.method === 'POST' && path === '/v1/workloads') {
      if (!caller.admin) throw new HttpError(403, 'FORBIDDEN', 'only the admin enrols workloads');
      const body = (await readJsonBody(req)) as { actor?: unknown; agent?: unknown };
      if (typeof body.actor !== 'string' || typeof body.agent !== 'string') {
        throw new HttpError(400, 'BAD_REQUEST', 'actor and agent are required strings');
      }
      try {
        return sendJson(res, 201, enroll({ actor: body.actor, agent: body.agent }));
      } catch (err) {
        throw new HttpError(400, 'BAD_REQUEST', (err as Error).message);
      }
    }
    if (req.method === 'GET' && path === '/v1/registry') return sendJson(res, 200, { entries: registry.list() });

    // The policy store: only the owner (admin) publishes; pods register their own policy sidecar.
    if (path === '/v1/policy') {
      if (req.method === 'GET') {
        const current = policies.current();
        if (!current) throw new HttpError(404, 'NOT_FOUND', 'no policy published yet');
        return sendJson(res, 200, current);
      }
      if (req.method === 'PUT') {
        if (!caller.admin) throw new HttpError(403, 'FORBIDDEN', 'only the owner (admin) publishes policy');
        try {
          return sendJson(res, 200, await policies.publish(await readJsonBody(req)));
        } catch (err) {
          if (err instanceof HttpError) throw err;
          if (err instanceof PolicyStoreError) throw new HttpError(err.status, err.code, err.message);
          throw new HttpError(400, 'BAD_REQUEST', (err as Error).message);
        }
      }
    }
    if (path === '/v1/policy/bundle' && req.method === 'PUT') {
      if (!caller.admin) throw new HttpError(403, 'FORBIDDEN', 'only the owner (admin) publishes policy');
      try {
        return sendJson(res, 200, await policies.publishBundle(await readRawBody(req, 16 * 1024 * 1024)));
      } catch (err) {
        if (err instanceof HttpError) throw err;
        if (err instanceof PolicyStoreError) throw new HttpError(err.status, err.code, err.message);
        throw new HttpError(400, 'BAD_REQUEST', (err as Error).message);
      }
    }
    const ps = /^\/v1\/policy-sidecars\/([^/]+)$/.exec(path);
    if (ps && req.method === 'PUT') {
      const agent = decodeURIComponent(ps[1]);
      if (!caller.admin && caller.workload.agent !== agent) {
        throw new HttpError(403, 'FORBIDDEN', `workload ${caller.workload.agent} may only register its own policy sidecar`);
      }
      if (!enrolled.has(agent)) throw new HttpError(404, 'NOT_FOUND', `agent ${agent} is not enrolled`);
      const body = (await readJsonBody(req)) as { url?: unknown; token?: unknown };
      if (typeof body.url !== 'string' || !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]|10\.)/.test(body.url) || typeof body.token !== 'string') {
        throw new HttpError(400, 'BAD_REQUEST', 'url (http on the pod network) and token (string) are required');
      }
      const pushed = await policies.addSidecar({ agent, url: body.url, token: body.token });
      return sendJson(res, 200, { agent, revision: policies.revision, pushed });
    }

    // The audit ledger: each pod speaks only for itself (its token names its SPIFFE id).
    const auditRoute: Record<string, AuditComponent> = { '/v1/audit/events': 'app', '/v1/audit/logs': 'policy' };
    if (path in auditRoute || path === '/v1/audit') {
      if (!ledger) throw new HttpError(404, 'NOT_FOUND', 'this control plane keeps no audit ledger');
      if (req.method === 'GET' && path === '/v1/audit') {
        if (!caller.admin) throw new HttpError(403, 'FORBIDDEN', 'only the owner (admin) reads the ledger state');
        return sendJson(res, 200, { entries: ledger.size, head: ledger.head });
      }
      if (req.method !== 'POST' || path === '/v1/audit') throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use POST ${path}`);
      if (caller.admin) throw new HttpError(403, 'FORBIDDEN', 'audit events come from workloads, not the admin');
      const by = { spiffeId: caller.workload.spiffeId, agent: caller.workload.agent, component: auditRoute[path] };
      try {
        return sendJson(res, 200, await ledger.ingestRequest(by, req));
      } catch (err) {
        if (err instanceof AuditLedgerError) throw new HttpError(err.status, err.code, err.message);
        throw new HttpError(503, 'AUDIT_UNAVAILABLE', `the ledger could not store the batch: ${(err as Error).message}`);
      }
    }

    const m = /^\/v1\/registry\/([^/]+)$/.exec(path);
    if (m) {
      const agent = decodeURIComponent(m[1]);
      if (req.method === 'GET') {
        const entry = registry.resolve(agent);
        if (!entry) throw new HttpError(404, 'NOT_FOUND', `agent ${agent} is not registered`);
        return sendJson(res, 200, entry);
      }
      if (req.method === 'PUT') {
        if (!caller.admin && caller.workload.agent !== agent) {
          throw new HttpError(403, 'FORBIDDEN', `workload ${caller.workload.agent} may only register itself`);
        }
        const workload = enrolled.get(agent);
        if (!workload) throw new HttpError(404, 'NOT_FOUND', `agent ${agent} is not enrolled`);
        const body = (await readJsonBody(req)) as { host?: unknown; port?: unknown };
        if (typeof body.host !== 'string' || !Number.isInteger(body.port) || (body.port as number) <= 0) {
          throw new HttpError(400, 'BAD_REQUEST', 'host (string) and port (integer) are required');
        }
        const entry: RegistryEntry = { agent, spiffeId: workload.spiffeId, host: body.host, port: body.port as number };
        registry.register(entry);
        return sendJson(res, 200, entry);
      }
    }
    throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
  }

  const server = http.createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
      sendError(res, 500, 'INTERNAL', 'control plane error');
    });
  });

  const listen = opts.listen ?? {};
  let url: string;
  if ('socketPath' in listen) {
    await rm(listen.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.socketPath, () => resolve());
    });
    await chmod(listen.socketPath, 0o600);
    url = `unix:${listen.socketPath}`;
  } else {
    const host = listen.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port ?? 0, host, () => resolve());
    });
    url = `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  return {
    url,
    ca,
    registry,
    policies,
    ledger,
    adminToken,
    enroll,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // Sign a last checkpoint over everything the ledger took.
      await ledger?.checkpoint();
    },
  };
}

/** The ledger signs checkpoints with an SVID in the owner's namespace, renewed at half-life. */
async function openLedger(ca: Ca, audit: NonNullable<ControlPlaneOptions['audit']>): Promise<AuditLedger> {
  const spiffeId = formatSpiffeId(ca.trustDomain, audit.ownerActor, LEDGER_AGENT);
  const issue = async (): Promise<SigningMaterial & { notAfter: number }> => {
    const svid = await ca.issue({ spiffeId });
    return { spiffeId, keyPem: svid.keyPem, chainPem: svid.chainPem, notAfter: svid.notAfter.getTime() };
  };
  let current = await issue();
  let issuedAt = Date.now();
  let renewing: Promise<void> | undefined;
  const signer = createSigner(() => {
    // Renew in the background past half-life; the current SVID stays valid until then.
    if (!renewing && Date.now() > issuedAt + (current.notAfter - issuedAt) / 2) {
      renewing = issue()
        .then((next) => {
          current = next;
          issuedAt = Date.now();
        })
        // A failed renewal keeps the current SVID (still valid) and is retried on the next checkpoint.
        .catch(() => undefined)
        .finally(() => (renewing = undefined));
    }
    return current;
  });
  return AuditLedger.open({ store: audit.store, workflowId: audit.workflowId, signer, checkpointEvery: audit.checkpointEvery });
}

async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'TOO_LARGE', `body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
