import { describe, expect, it } from 'vitest';
import { JobQueue } from './job-queue';

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('JobQueue', () => {
  it('never runs more than its concurrency at once, in FIFO order', async () => {
    const q = new JobQueue(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    let peak = 0;
    const jobs = gates.map((g, i) =>
      q.run(async () => {
        started.push(i);
        peak = Math.max(peak, q.active);
        await g.promise;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(q.pending).toBe(2);
    gates[1].resolve();
    await jobs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates.forEach((g) => g.resolve());
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3]);
    expect(peak).toBe(2);
  });

  it('drain waits for queued and running jobs; close refuses new ones', async () => {
    const q = new JobQueue(1);
    const g = deferred();
    let finished = 0;
    void q.run(async () => {
      await g.promise;
      finished++;
    });
    void q.run(async () => {
      finished++;
    });
    q.close();
    await expect(q.run(async () => 1)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    const drained = q.drain().then(() => finished);
    g.resolve();
    expect(await drained).toBe(2);
  });

  it('a failing job does not stop the queue', async () => {
    const q = new JobQueue(1);
    await expect(q.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await q.run(async () => 'next')).toBe('next');
  });

  it('rejects a nonsensical concurrency', () => {
    expect(() => new JobQueue(0)).toThrow(/positive integer/);
  });
});
