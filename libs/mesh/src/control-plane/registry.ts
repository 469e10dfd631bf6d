// The service registry: agent name -> SPIFFE id and the address of its inbound mTLS listener.
import type { RegistryEntry } from '@reelmesh/workload-identity';

export type { RegistryEntry } from '@reelmesh/workload-identity';

/** What the proxy needs: resolve a destination agent, or undefined if it is not in the mesh. */
export interface Registry {
  resolve(agent: string): RegistryEntry | undefined | Promise<RegistryEntry | undefined>;
}

/** An in-memory registry: the control plane's store, and a static registry for tests. */
export class MemoryRegistry implements Registry {
  readonly #entries = new Map<string, RegistryEntry>();

  constructor(entries: Iterable<RegistryEntry> = []) {
    for (const e of entries) this.register(e);
  }

  register(entry: RegistryEntry): void {
    this.#entries.set(entry.agent, { ...entry });
  }

  unregister(agent: string): boolean {
    return this.#entries.delete(agent);
  }

  resolve(agent: string): RegistryEntry | undefined {
    return this.#entries.get(agent);
  }

  list(): RegistryEntry[] {
    return [...this.#entries.values()];
  }
}
