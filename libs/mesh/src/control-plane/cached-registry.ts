import type { ControlPlaneClient } from '@reelmesh/workload-identity';
import type { Registry, RegistryEntry } from './registry';

/**
 * A proxy-side registry backed by the control plane, with a short cache so the hot path
 * rarely leaves the process. Unknown agents are cached briefly too (REGISTRY_ONLY stays cheap).
 *
 * Stale on error: while the control plane is down (a crash, until its supervisor brings it back
 * on the same endpoint), an agent the proxy has resolved before keeps its last known entry, and
 * the control plane is asked again at most every `negativeTtlMs`. Pods are restarted on the same
 * endpoint too, so that entry is still right; serving it keeps chunks flowing, where failing
 * would stop every handoff of the run for as long as the outage lasts. An agent never resolved
 * still fails (503 REGISTRY_UNAVAILABLE): the mesh never reaches a destination it cannot name.
 */
export class ControlPlaneRegistry implements Registry {
  readonly #cache = new Map<string, { entry: RegistryEntry | undefined; expires: number }>();
  /** One lookup per agent at a time: a burst of requests after expiry asks the control plane once. */
  readonly #inflight = new Map<string, Promise<RegistryEntry | undefined>>();

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly ttlMs = 5000,
    private readonly negativeTtlMs = 1000,
  ) {}

  resolve(agent: string): RegistryEntry | undefined | Promise<RegistryEntry | undefined> {
    const hit = this.#cache.get(agent);
    if (hit && hit.expires > Date.now()) return hit.entry;
    let lookup = this.#inflight.get(agent);
    if (!lookup) {
      lookup = this.client
        .lookup(agent)
        .then(
          (entry) => {
            this.#cache.set(agent, { entry, expires: Date.now() + (entry ? this.ttlMs : this.negativeTtlMs) });
            return entry;
          },
          (error: unknown) => {
            const stale = this.#cache.get(agent)?.entry;
            if (!stale) throw error;
            this.#cache.set(agent, { entry: stale, expires: Date.now() + this.negativeTtlMs });
            return stale;
          },
        )
        .finally(() => this.#inflight.delete(agent));
      this.#inflight.set(agent, lookup);
    }
    return lookup;
  }
}
