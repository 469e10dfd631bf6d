import type { ControlPlaneClient } from '@reelmesh/workload-identity';
import type { Registry, RegistryEntry } from './registry';

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
