import http from 'node:http';
import { requestJson, ResponseError } from '@reelmesh/http-kit';
import { svidFromJson, type Svid } from './svid';

/** A registry entry: an agent, its SPIFFE id and the address of its pod's inbound mTLS listener. */
export interface RegistryEntry {
  agent: string;
  spiffeId: string;
  host: string;
  port: number;
}

export interface ControlPlaneClientOptions {
  /** `http://127.0.0.1:<port>` or `unix:/path/to/cp.sock`. */
  url: string;
  /**
   * The pod's bootstrap token, or the owner's admin token. None where the control plane knows the
   * caller by its mesh identity (Compose, Istio: its sidecar verified the client certificate).
   */
  token?: string;
  timeoutMs?: number;
  /**
   * While the control plane refuses connections (starting, or restarting under its supervisor),
   * keep asking with backoff for up to this long before failing (default 0: fail at once). A
   * sidecar starting while the control plane is away waits for it rather than exiting and burning
   * its own restart budget.
   */
  waitUnreachableMs?: number;
}

/** Errors that mean "nobody is listening there yet", not "the control plane said no". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT']);

/**
 * How long a process starting (or restarted) while the control plane is away waits for it: longer
 * than a supervisor's backoff across the control plane's first few restarts (kubelet, local runtime).
 */
export const CONTROL_PLANE_STARTUP_WAIT_MS = 60_000;

/** Retry `work` while what it calls refuses connections, with backoff, for up to `deadlineMs`. */
export async function whileUnreachable<T>(work: () => Promise<T>, deadlineMs = 60_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
      if (!UNREACHABLE.has(code ?? '') || Date.now() + delay > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/**
 * The one client of the control plane's API (docs/mesh.md): the proxy sidecar fetches its SVID and
 * resolves destinations with it, an agent fetches the SVID it signs provenance with, a pod
 * registers its policy sidecar, the owner enrols workloads and publishes policy. Errors are the
 * control plane's own `{error:{code,message}}`, as a ResponseError.
 */
export class ControlPlaneClient {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(private readonly options: ControlPlaneClientOptions) {}

  get url(): string {
    return this.options.url;
  }

  async fetchSvid(ttlSeconds?: number): Promise<Svid> {
    return svidFromJson(await this.#call<Record<string, unknown>>('POST', '/v1/svid', ttlSeconds ? { ttlSeconds } : {}));
  }

  async lookup(agent: string): Promise<RegistryEntry | undefined> {
    try {
      return await this.#call<RegistryEntry>('GET', `/v1/registry/${encodeURIComponent(agent)}`);
    } catch (error) {
      if (error instanceof ResponseError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list(): Promise<RegistryEntry[]> {
    return (await this.#call<{ entries: RegistryEntry[] }>('GET', '/v1/registry')).entries;
  }

  /** The pod's proxy registers its inbound listener (only its own agent). */
  register(entry: { agent: string; host: string; port: number }): Promise<RegistryEntry> {
    return this.#call('PUT', `/v1/registry/${encodeURIComponent(entry.agent)}`, { host: entry.host, port: entry.port });
  }

  /**
   * The pod registers its policy sidecar; the policy store pushes the current policy to it at once
   * and says how that went (`pushed` is absent while nothing has been published).
   */
  registerPolicySidecar(agent: string, sidecar: { url: string; token: string }): Promise<{ agent: string; revision: number; pushed?: { ok: boolean; status?: number; error?: string } }> {
    return this.#call('PUT', `/v1/policy-sidecars/${encodeURIComponent(agent)}`, sidecar);
  }

  /**
   * The owner's policy in force: its revision and digest (for a signed bundle, the manifest's
   * revision and the archive's sha256). Any authenticated caller.
   */
  policy(): Promise<{ revision: number; signed: boolean; bundle?: { revision: string; sha256: string }; sha256: string }> {
    return this.#call('GET', '/v1/policy');
  }

  /** Admin only: enrol a workload and get its bootstrap token. */
  enroll(workload: { actor: string; agent: string }): Promise<{ token: string; spiffeId: string }> {
    return this.#call('POST', '/v1/workloads', workload);
  }

  /** Admin only: publish a policy data document (unsigned mode). */
  publishPolicy(document: unknown): Promise<{ revision: number; pushed: Array<{ agent: string; ok: boolean }> }> {
    return this.#call('PUT', '/v1/policy', document);
  }

  /** Admin only: publish the owner's signed OPA bundle (tar.gz). */
  publishBundle(archive: Buffer): Promise<{ revision: number }> {
    return this.#call('PUT', '/v1/policy/bundle', undefined, archive);
  }

  close(): void {
    this.#agent.destroy();
  }

  #call<T>(method: string, path: string, json?: unknown, body?: Buffer): Promise<T> {
    const wait = this.options.waitUnreachableMs ?? 0;
    return wait > 0 ? whileUnreachable(() => this.#once<T>(method, path, json, body), wait) : this.#once<T>(method, path, json, body);
  }

  #once<T>(method: string, path: string, json?: unknown, body?: Buffer): Promise<T> {
    return requestJson<T>(this.options.url, path, {
      method,
      json,
      body,
      headers: { ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}), ...(body ? { 'content-type': 'application/gzip' } : {}) },
      agent: this.#agent,
      timeoutMs: this.options.timeoutMs ?? 15_000,
    });
  }
}
