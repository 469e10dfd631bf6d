import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { followEventStream, type Following } from '@reelmesh/http-kit';
import { StatusFeed } from './status-feed';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StatusFeed: an agent status as an event stream that speaks on change', () => {
  const servers: Server[] = [];
  const followers: Following[] = [];
  afterEach(async () => {
    followers.splice(0).forEach((f) => f.close());
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
  });

  async function serve(feed: StatusFeed): Promise<string> {
    const server = createServer((req, res) => feed.open(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  function watch(url: string) {
    const got: Array<{ event: string; data: unknown }> = [];
    followers.push(followEventStream(url, '/', { onMessage: (event, data) => got.push({ event, data }) }));
    return got;
  }

  async function until(check: () => boolean, ms = 3_000): Promise<void> {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await sleep(5);
    }
  }

  it('sends the status at once, again only when its key changes, and builds the body only then', async () => {
    const state = { done: 0, rss: 1 };
    let bodies = 0;
    const feed = new StatusFeed(
      () => ({
        key: JSON.stringify(state.done),
        body: () => (bodies++, { done: state.done, rss: state.rss }),
      }),
      10,
    );
    const got = watch(await serve(feed));
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ event: 'status', data: { done: 0, rss: 1 } });
    // A counter outside the key changes: no news, however many checks pass.
    state.rss = 2;
    await sleep(100);
    expect(got).toHaveLength(1);
    expect(bodies).toBe(1);
    // Progress moves: news within a check, carrying every field as it is now.
    state.done = 1;
    await until(() => got.length === 2);
    expect(got[1]).toEqual({ event: 'status', data: { done: 1, rss: 2 } });
    await sleep(100);
    expect(got).toHaveLength(2);
    expect(bodies).toBe(2);
  });

  it('tells every watcher, a late one gets the current status at once, and nothing runs once they leave', async () => {
    const state = { done: 0 };
    let views = 0;
    const feed = new StatusFeed(() => (views++, { key: String(state.done), body: () => ({ done: state.done }) }), 10);
    const url = await serve(feed);
    const first = watch(url);
    await until(() => first.length === 1);
    state.done = 3;
    await until(() => first.length === 2);
    const second = watch(url);
    await until(() => second.length === 1);
    expect(second[0].data).toEqual({ done: 3 });
    state.done = 4;
    await until(() => first.length === 3 && second.length === 2);
    expect([first[2].data, second[1].data]).toEqual([{ done: 4 }, { done: 4 }]);
    expect(feed.watchers).toBe(2);

    followers.splice(0).forEach((f) => f.close());
    await until(() => feed.watchers === 0);
    const after = views;
    await sleep(100);
    expect(views).toBe(after);
  });
  it('a watcher who connects between two checks does not take a change from the others', async () => {
    const state = { done: 0 };
    // Checks far apart: within the test only a new watcher's arrival looks at the status.
    const feed = new StatusFeed(() => ({ key: String(state.done), body: () => ({ done: state.done }) }), 60_000);
    const url = await serve(feed);
    const first = watch(url);
    await until(() => first.length === 1);
    state.done = 1;
    const second = watch(url);
    await until(() => second.length === 1 && first.length === 2);
    expect(first.map((m) => m.data)).toEqual([{ done: 0 }, { done: 1 }]);
    expect(second[0].data).toEqual({ done: 1 });
    // Nothing changed since: a third watcher gets the status, the others hear nothing more.
    const third = watch(url);
    await until(() => third.length === 1);
    await sleep(50);
    expect([first.length, second.length, third[0].data]).toEqual([2, 1, { done: 1 }]);
  });
});
