import { applyEvent, emptyState, type DashboardEvent, type DashboardState, type GraphView } from './model';
import type { DashboardSource } from './server';

/** The dashboard's state in the CLI: every event is applied here, then handed to every listener (the pages). */
export class DashboardStore implements DashboardSource {
  #state: DashboardState;
  readonly #listeners = new Set<(event: DashboardEvent) => void>();

  constructor(initial: DashboardState | GraphView) {
    this.#state = 'version' in initial ? initial : emptyState(initial);
  }

  state(): DashboardState {
    return this.#state;
  }

  emit(event: DashboardEvent): void {
    this.#state = applyEvent(this.#state, event);
    for (const listener of this.#listeners) listener(event);
  }

  subscribe(listener: (event: DashboardEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
