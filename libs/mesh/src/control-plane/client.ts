import http from 'node:http';
import type { Svid } from '../ca/ca';
import type { Registry, RegistryEntry } from './registry';

/**
 * Client of the control plane's local API. `url` is `http://127.0.0.1:<port>` or
 * `unix:/path/to/cp.sock`; `token` is the pod's bootstrap token (or the admin token).
 */
export interface ControlPlaneClientOptions {
  url: string;
  token: string;
}

export class ControlPlaneError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class ControlPlaneClient {
  readonly #target: { socketPath: string } | { host: string; port: number };
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(private readonly opts: ControlPlaneClientOptions) {
    this.#target = parseTarget(opts.url);
  }

  async fetchSvid(): Promise<Svid> {
    const body = (await this.#call('POST', '/v1/svid', {})) as Record<string, string>;
    return {
      spiffeId: body.spiffeId,
      certPem: body.certPem,
      keyPem: body.keyPem,
      chainPem: body.chainPem,
      bundlePem: body.bundlePem,
      serialNumber: body.serialNumber,
      notBefore: new Date(body.notBefore),
      notAfter: new Date(body.notAfter),
    };
  }

  async lookup(agent: string): Promise<RegistryEntry | undefined> {
    try {
      return (await this.#call('GET', `/v1/registry/${encodeURIComponent(agent)}`)) as RegistryEntry;
    } catch (err) {
      if (err instanceof ControlPlaneError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list(): Promise<RegistryEntry[]> {
    return ((await this.#call('GET', '/v1/registry')) as { entries: RegistryEntry[] }).entries;
  }

  async register(entry: { agent: string; host: string; port: number }): Promise<RegistryEntry> {
    return (await this.#call('PUT', `/v1/registry/${encodeURIComponent(entry.agent)}`, {
      host: entry.host,
      port: entry.port,
    })) as RegistryEntry;
  }

  /** Admin only: enrol a workload and get its bootstrap token. */
  async enroll(workload: { actor: string; agent: string }): Promise<{ token: string; spiffeId: string }> {
    return (await this.#call('POST', '/v1/workloads', workload)) as { token: string; spiffeId: string };
  }

  close(): void {
    this.#agent.destroy();
  }

  #call(method: string, path: string, json?: unknown): Promise<unknown> {
    const payload = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          ...this.#target,
          method,
          path,
          agent: this.#agent,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            let body: unknown;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return reject(new ControlPlaneError(res.statusCode ?? 0, 'BAD_RESPONSE', 'control plane sent non-JSON'));
            }
            if (res.statusCode === 200 || res.statusCode === 201) return resolve(body);
            const e = (body as { error?: { code?: string; message?: string } }).error ?? {};
            reject(new ControlPlaneError(res.statusCode ?? 0, e.code ?? 'ERROR', e.message ?? `HTTP ${res.statusCode}`));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

function parseTarget(url: string): { socketPath: string } | { host: string; port: number } {
  if (url.startsWith('unix:')) return { socketPath: url.slice('unix:'.length) };
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`control plane URL must be http:// (loopback) or unix:, got ${url}`);
  return { host: u.hostname, port: Number(u.port || 80) };
}

/**
 * A proxy-side registry backed by the control plane, with a short cache so the hot path
 * rarely leaves the process. Unknown agents are cached briefly too (REGISTRY_ONLY stays cheap).
 */
export class ControlPlaneRegistry implements Registry {
  readonly #cache = new Map<string, { entry: RegistryEntry | undefined; expires: number }>();

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly ttlMs = 5000,
    private readonly negativeTtlMs = 1000,
  ) {}

  resolve(agent: string): RegistryEntry | undefined | Promise<RegistryEntry | undefined> {
    const hit = this.#cache.get(agent);
    if (hit && hit.expires > Date.now()) return hit.entry;
    return this.client.lookup(agent).then((entry) => {
      this.#cache.set(agent, { entry, expires: Date.now() + (entry ? this.ttlMs : this.negativeTtlMs) });
      return entry;
    });
  }
}
