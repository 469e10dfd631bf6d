import { describe, it, expect } from 'vitest';
import { KeyedMutex } from './keyed-mutex';

describe('KeyedMutex', () => {
  it('holds one caller per key, in arrival order, and forgets idle keys', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const releaseA = await mutex.acquire('slot');
    const b = mutex.acquire('slot').then((release) => {
      order.push('b');
      return release;
    });
    const c = mutex.acquire('slot').then((release) => {
      order.push('c');
      release();
    });
    const other = await mutex.acquire('other-slot'); // other keys are not blocked
    other();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    releaseA();
    const releaseB = await b;
    expect(order).toEqual(['b']);
    releaseB();
    releaseB(); // idempotent
    await c;
    expect(order).toEqual(['b', 'c']);
    expect(mutex.size).toBe(0);
  });
});
