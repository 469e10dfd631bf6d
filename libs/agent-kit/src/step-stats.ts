/** Per-step counters and wall-clock spans, for /v1/status and the CLI's progress and timings. */
export interface StepSnapshot {
  received: number;
  /** Chunks finished before this process started (found in the volume; counted in completed too). */
  restored: number;
  started: number;
  completed: number;
  failed: number;
  /** Milliseconds spent inside jobs (summed over concurrent jobs). */
  busyMs: number;
  firstStartedAt?: number;
  lastFinishedAt?: number;
}

export class StepStats {
  private readonly steps = new Map<string, StepSnapshot>();

  declare(step: string): void {
    if (!this.steps.has(step)) this.steps.set(step, { received: 0, restored: 0, started: 0, completed: 0, failed: 0, busyMs: 0 });
  }

  private get(step: string): StepSnapshot {
    this.declare(step);
    return this.steps.get(step)!;
  }

  received(step: string): void {
    this.get(step).received++;
  }

  /** `n` chunks of `step` were finished before a restart: they count as received and completed. */
  restore(step: string, n: number): void {
    const s = this.get(step);
    s.restored += n;
    s.received += n;
    s.completed += n;
  }

  start(step: string): number {
    const s = this.get(step);
    const now = Date.now();
    s.started++;
    s.firstStartedAt ??= now;
    return now;
  }

  complete(step: string, startedAt: number): void {
    const s = this.get(step);
    s.completed++;
    this.finish(s, startedAt);
  }

  fail(step: string, startedAt: number): void {
    const s = this.get(step);
    s.failed++;
    this.finish(s, startedAt);
  }

  private finish(s: StepSnapshot, startedAt: number): void {
    const now = Date.now();
    s.busyMs += now - startedAt;
    s.lastFinishedAt = now;
  }

  snapshot(): Record<string, StepSnapshot> {
    return Object.fromEntries([...this.steps].map(([k, v]) => [k, { ...v }]));
  }
}
