import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { formatSpiffeId, parseSpiffeId } from '@reelmesh/addressing';
import { closeServer, HttpError, listen, openEventStream, readBody, readJsonBody, sendError, sendJson, type EventStream } from '@reelmesh/http-kit';
import { AuditLedger, createSigner, LEDGER_AGENT, type AuditComponent, type CheckpointStatement } from '@reelmesh/provenance';
import type { ObjectStore } from '@reelmesh/storage';
import { SvidSource } from '@reelmesh/workload-identity';
import { createCa, DEFAULT_SVID_TTL_SECONDS, type Ca } from '../ca/ca';
import { PolicyStore } from './policy-store';
import { MemoryRegistry, type RegistryEntry } from './registry';
import { dispatch, type Caller, type Route, type Workload } from './routes';
import { StateFile, StateFileError, type ControlPlaneState } from './state';
import { XFCC_HEADER, xfccSpiffeId } from './xfcc';

export type { Workload } from './routes';

export interface ControlPlaneOptions {
  trustDomain: string;
  /**
   * Persist the CA root here, and the rest of the state (enrolments as token hashes, the
   * registry, the policy sidecars with their update tokens, the policy in force) in
   * `control-plane-state.json` (0600): a control plane started again on the same dir carries on.
   */
  dir?: string;
  /** Where to listen: `127.0.0.1:0` (default; any free port) or `unix:/path` (mode 0600). */
  listen?: string;
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
  /** `checkpointWithinMs`: how long an entry may wait for a signed checkpoint (default 5 s). */
  audit?: { store: ObjectStore; workflowId: string; ownerActor: string; checkpointEvery?: number; checkpointWithinMs?: number };
  /** Signed-policy mode: the owner's bundle-signing public key; the store takes nothing else. */
  policyBundleKey?: { publicKeyPem: string; keyId?: string };
  /**
   * Behind its own sidecar (Compose: Envoy, Istio: istio-proxy), which verified the client's
   * certificate: a caller without a bearer token is the SPIFFE id of the `x-forwarded-client-cert`
   * header's URI= (the last element: the one that sidecar wrote). Such a caller may fetch its own
   * SVID, read the policy in force and submit its audit events (/v1/audit/*, OPA's POST /logs),
   * nothing else. Off (the default), that header is ignored entirely.
   */
  meshIdentity?: boolean;
}

export interface ControlPlane {
  /** `http://127.0.0.1:<port>` or `unix:<path>`, what ControlPlaneClient takes. */
  url: string;
  ca: Ca;
  registry: MemoryRegistry;
  /** The owner's policy store, pushing the policy to every policy sidecar. */
  policies: PolicyStore;
  /** The audit ledger, when configured. */
  ledger?: AuditLedger;
  adminToken: string;
  /** Enrol a workload and return its per-pod bootstrap token (given to the pod at spawn). */
  enroll(workload: { actor: string; agent: string }): { token: string; spiffeId: string };
  close(): Promise<void>;
}

const MAX_JSON_BYTES = 16 * 1024;
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
/** A policy sidecar lives on its pod: loopback, the pod network (isolated pods), or a Unix socket. */
const POD_URL = /^(http:\/\/(127\.0\.0\.1|localhost|\[::1\]|10\.[0-9.]+)(:\d+)?\/?$|unix:\/)/;

/**
 * The control plane's local API (docs/mesh.md). Workloads authenticate with the bootstrap token
 * they were spawned with; the token binds them to one SPIFFE id, so a pod can only get its own
 * SVID, register only its own address and policy sidecar, and speak to the ledger only as itself.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const ca = opts.ca ?? (await createCa({ trustDomain: opts.trustDomain, dir: opts.dir }));
  const stateFile = opts.dir === undefined ? undefined : new StateFile(opts.dir);
  const saved = await stateFile?.load(ca.trustDomain);
  const registry = new MemoryRegistry(saved?.registry);
  // Every change is written before it is answered (or pushed), so what a pod was told survives.
  const persist = () => stateFile?.save(snapshot) ?? Promise.resolve();
  const policies = new PolicyStore(undefined, opts.policyBundleKey, persist);
  const maxTtl = opts.svidTtlSeconds ?? DEFAULT_SVID_TTL_SECONDS;
  const adminToken = opts.adminToken ?? randomBytes(32).toString('base64url');
  const adminHash = sha256(adminToken);
  const workloadsByTokenHash = new Map<string, Workload>();
  const enrolled = new Map<string, Workload>();
  if (saved) {
    for (const { tokenSha256, ...workload } of saved.enrolments) bindToken(tokenSha256, workload);
    try {
      policies.restore(saved);
    } catch (error) {
      throw new StateFileError(`control plane state ${stateFile!.path} cannot be restored (${(error as Error).message}); it was left as it is: repair or remove it`);
    }
  }
  const audit = opts.audit && (await openLedger(ca, opts.audit));
  const ledger = audit?.ledger;

  function bindToken(tokenSha256: string, workload: Workload): void {
    workloadsByTokenHash.set(tokenSha256, workload);
    enrolled.set(workload.agent, workload);
  }

  function snapshot(): ControlPlaneState {
    return {
      version: 1,
      trustDomain: ca.trustDomain,
      enrolments: [...workloadsByTokenHash].map(([tokenSha256, workload]) => ({ tokenSha256, ...workload })),
      registry: registry.list(),
      ...policies.saved(),
    };
  }

  /** Enrols and starts writing the state; `persisted` settles once the token's hash is on disk. */
  function enrollAndPersist(w: { actor: string; agent: string }): { token: string; spiffeId: string; persisted: Promise<void> } {
    const spiffeId = formatSpiffeId({ trustDomain: ca.trustDomain, actor: w.actor, agent: w.agent });
    const token = randomBytes(32).toString('base64url');
    bindToken(sha256(token).toString('hex'), { actor: w.actor, agent: w.agent, spiffeId });
    return { token, spiffeId, persisted: persist() };
  }

  function enroll(w: { actor: string; agent: string }): { token: string; spiffeId: string } {
    const { token, spiffeId, persisted } = enrollAndPersist(w);
    // In-process callers get the token at once; close() waits for the write.
    persisted.catch(() => undefined);
    return { token, spiffeId };
  }

  function authenticate(req: IncomingMessage): Caller {
    const authorization = req.headers.authorization?.trim();
    // "Bearer" with nothing after it is no token (a shipper with none to send).
    if (opts.meshIdentity && (!authorization || authorization === 'Bearer')) return meshCaller(req);
    const m = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!m) throw new HttpError(401, 'UNAUTHENTICATED', 'missing bearer token');
    const hash = sha256(m[1]);
    if (timingSafeEqual(hash, adminHash)) return { admin: true };
    const workload = workloadsByTokenHash.get(hash.toString('hex'));
    if (!workload) throw new HttpError(401, 'UNAUTHENTICATED', 'unknown token');
    return { admin: false, workload, via: 'token' };
  }

  /** The caller its sidecar verified (mesh identity mode only). */
  function meshCaller(req: IncomingMessage): Caller {
    const header = req.headers[XFCC_HEADER];
    if (header === undefined) throw new HttpError(401, 'UNAUTHENTICATED', `no bearer token and no ${XFCC_HEADER} (mesh identity)`);
    let spiffeId: string;
    let parts: ReturnType<typeof parseSpiffeId>;
    try {
      spiffeId = xfccSpiffeId(Array.isArray(header) ? header.join(',') : header);
      parts = parseSpiffeId(spiffeId);
    } catch (error) {
      throw new HttpError(401, 'UNAUTHENTICATED', (error as Error).message, { expose: true });
    }
    if (parts.trustDomain !== ca.trustDomain) throw new HttpError(403, 'FORBIDDEN', `${spiffeId} is outside trust domain ${ca.trustDomain}`);
    return { admin: false, workload: { actor: parts.actor, agent: parts.agent, spiffeId }, via: 'mesh' };
  }

  const enrolledAgent = (agent: string) => {
    const workload = enrolled.get(agent);
    if (!workload) throw new HttpError(404, 'NOT_FOUND', `agent ${agent} is not enrolled`);
    return workload;
  };
  const json = (req: IncomingMessage) => readJsonBody(req, { limit: MAX_JSON_BYTES }).then((body) => body ?? {});
  const theLedger = () => {
    if (!ledger) throw new HttpError(404, 'NOT_FOUND', 'this control plane keeps no audit ledger');
    return ledger;
  };
  // The ledger stamps every entry with the pod's identity; a caller cannot claim another.
  const auditRoute = (path: string, component: AuditComponent): Route => ({
    method: 'POST',
    path,
    access: 'workload',
    mesh: true,
    refusal: 'audit events come from workloads, not the admin',
    async handle({ req, res, caller }) {
      const { workload } = caller as { workload: Workload };
      const by = { spiffeId: workload.spiffeId, agent: workload.agent, component };
      sendJson(res, 200, await theLedger().ingestRequest(by, req).catch(auditError));
    },
  });

  const routes: Route[] = [
    { method: 'GET', path: '/health', access: 'public', handle: ({ res }) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'POST',
      path: '/v1/svid',
      access: 'workload',
      mesh: true,
      refusal: 'SVIDs are issued to workloads, not the admin',
      async handle({ req, res, caller }) {
        const { ttlSeconds } = await json(req);
        const asked = typeof ttlSeconds === 'number' && ttlSeconds > 0 ? ttlSeconds : maxTtl;
        sendJson(res, 200, await ca.issue({ spiffeId: (caller as { workload: Workload }).workload.spiffeId, ttlSeconds: Math.min(asked, maxTtl) }));
      },
    },
    {
      method: 'POST',
      path: '/v1/workloads',
      access: 'admin',
      refusal: 'only the admin enrols workloads',
      async handle({ req, res }) {
        const { actor, agent } = await json(req);
        if (typeof actor !== 'string' || typeof agent !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'actor and agent are required strings');
        let enrolment: ReturnType<typeof enrollAndPersist>;
        try {
          enrolment = enrollAndPersist({ actor, agent });
        } catch (error) {
          throw new HttpError(400, 'BAD_REQUEST', (error as Error).message);
        }
        await enrolment.persisted;
        sendJson(res, 201, { token: enrolment.token, spiffeId: enrolment.spiffeId });
      },
    },
    { method: 'GET', path: '/v1/registry', access: 'authenticated', handle: ({ res }) => sendJson(res, 200, { entries: registry.list() }) },
    {
      method: 'GET',
      path: /^\/v1\/registry\/([^/]+)$/,
      access: 'authenticated',
      handle({ res, param }) {
        const entry = registry.resolve(param);
        if (!entry) throw new HttpError(404, 'NOT_FOUND', `agent ${param} is not registered`);
        sendJson(res, 200, entry);
      },
    },
    {
      method: 'PUT',
      path: /^\/v1\/registry\/([^/]+)$/,
      access: 'self-or-admin',
      refusal: 'a workload may only register itself',
      async handle({ req, res, param }) {
        const workload = enrolledAgent(param);
        const { host, port } = await json(req);
        if (typeof host !== 'string' || !Number.isInteger(port) || (port as number) <= 0) throw new HttpError(400, 'BAD_REQUEST', 'host (string) and port (integer) are required');
        const entry: RegistryEntry = { agent: param, spiffeId: workload.spiffeId, host, port: port as number };
        registry.register(entry);
        await persist();
        sendJson(res, 200, entry);
      },
    },
    {
      method: 'GET',
      path: '/v1/policy',
      access: 'authenticated',
      // The owner's app names the policy in force in its deliverable's attestation.
      mesh: true,
      handle({ res }) {
        const current = policies.current();
        if (!current) throw new HttpError(404, 'NOT_FOUND', 'no policy published yet');
        sendJson(res, 200, current);
      },
    },
    {
      method: 'PUT',
      path: '/v1/policy',
      access: 'admin',
      refusal: 'only the owner (admin) publishes policy',
      handle: async ({ req, res }) => sendJson(res, 200, await policies.publish(await json(req))),
    },
    {
      method: 'PUT',
      path: '/v1/policy/bundle',
      access: 'admin',
      refusal: 'only the owner (admin) publishes policy',
      handle: async ({ req, res }) => sendJson(res, 200, await policies.publishBundle(await readBody(req, { limit: MAX_BUNDLE_BYTES, what: 'bundle' }))),
    },
    {
      method: 'PUT',
      path: /^\/v1\/policy-sidecars\/([^/]+)$/,
      access: 'self-or-admin',
      refusal: 'a workload may only register its own policy sidecar',
      async handle({ req, res, param }) {
        enrolledAgent(param);
        const { url, token } = await json(req);
        if (typeof url !== 'string' || !POD_URL.test(url) || typeof token !== 'string') {
          throw new HttpError(400, 'BAD_REQUEST', 'url (http on the pod network, or unix:/path) and token (string) are required');
        }
        const pushed = await policies.addSidecar({ agent: param, url, token });
        sendJson(res, 200, { agent: param, revision: policies.revision, pushed });
      },
    },
    {
      method: 'GET',
      path: '/v1/audit',
      access: 'admin',
      refusal: 'only the owner (admin) reads the ledger state',
      handle: ({ res }) => sendJson(res, 200, { entries: theLedger().size, head: theLedger().head }),
    },
    {
      method: 'GET',
      path: '/v1/audit/stream',
      access: 'admin',
      refusal: 'only the owner (admin) watches the ledger',
      handle: ({ req, res }) => streamLedger(theLedger(), req, res, streams),
    },
    auditRoute('/v1/audit/events', 'app'),
    auditRoute('/v1/audit/logs', 'policy'),
    // OPA's decision_logs plugin posts to <service url>/logs (its default `resource`): gzip'd JSON array.
    auditRoute('/logs', 'policy'),
  ];

  const streams = new Set<EventStream>();
  const server = http.createServer((req, res) => {
    dispatch(routes, req, res, authenticate).catch((error: unknown) => sendError(req, res, error));
  });
  const url = await listen(server, opts.listen ?? '127.0.0.1:0');

  return {
    url,
    ca,
    registry,
    policies,
    ledger,
    adminToken,
    enroll,
    close: async () => {
      for (const events of streams) events.end();
      await closeServer(server, 0);
      await stateFile?.settled();
      // Sign a last checkpoint over everything the ledger took.
      await ledger?.checkpoint();
      audit?.identity.stop();
    },
  };
}

/**
 * The ledger as it grows, as Server-Sent Events (the owner's dashboard): a `hello` with its size,
 * head and latest checkpoint, then every entry and signed checkpoint once stored. Live only: a
 * watcher that falls 4 MiB behind is cut off and reconnects (it gets a new hello).
 */
function streamLedger(ledger: AuditLedger, req: IncomingMessage, res: ServerResponse, streams: Set<EventStream>): void {
  let unwatch = () => {};
  const events = openEventStream(req, res, {
    maxBufferedBytes: LEDGER_STREAM_MAX_BUFFERED,
    onClose: () => {
      unwatch();
      streams.delete(events);
    },
  });
  const checkpoint = (c: { statement: CheckpointStatement; signedBy: string } | undefined) =>
    c && { index: c.statement.index, from: c.statement.from, to: c.statement.to, head: c.statement.head, time: c.statement.time, signedBy: c.signedBy };
  events.send({ entries: ledger.size, head: ledger.head, checkpoint: checkpoint(ledger.lastCheckpoint) }, 'hello');
  unwatch = ledger.watch((news) =>
    news.kind === 'entry' ? events.send({ seq: news.entry.seq, time: news.entry.time, hash: news.entry.hash, event: news.entry.event }, 'entry') : events.send(checkpoint(news), 'checkpoint'),
  );
  streams.add(events);
}

const LEDGER_STREAM_MAX_BUFFERED = 4 * 1024 * 1024;
/** Every ledger entry is under a signed checkpoint within 5 s, however slowly the run goes. */
const DEFAULT_CHECKPOINT_WITHIN_MS = 5_000;

/** A ledger that cannot store a batch is a transient outage: the shipper retries. */
function auditError(error: unknown): never {
  if ((error as { status?: unknown }).status !== undefined) throw error;
  throw new HttpError(503, 'AUDIT_UNAVAILABLE', `the ledger could not store the batch: ${(error as Error).message}`, { expose: true });
}

/** The ledger signs checkpoints with an SVID in the owner's namespace, renewed at half-life. */
async function openLedger(ca: Ca, audit: NonNullable<ControlPlaneOptions['audit']>): Promise<{ ledger: AuditLedger; identity: SvidSource }> {
  const spiffeId = formatSpiffeId({ trustDomain: ca.trustDomain, actor: audit.ownerActor, agent: LEDGER_AGENT });
  const identity = await SvidSource.fromIssuer(ca, spiffeId);
  const signer = createSigner(() => identity.current());
  const ledger = await AuditLedger.open({ store: audit.store, workflowId: audit.workflowId, signer, checkpointEvery: audit.checkpointEvery, checkpointWithinMs: audit.checkpointWithinMs ?? DEFAULT_CHECKPOINT_WITHIN_MS });
  return { ledger, identity };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
