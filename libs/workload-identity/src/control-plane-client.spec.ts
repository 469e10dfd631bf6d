// A client that may wait for an absent control plane: a sidecar starting while the control plane
// is down (killed, restarting under its supervisor) asks again until it is back, instead of
// exiting and spending its own restart budget; an answer from the control plane is never retried.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient } from './control-plane-client';

const dir = mkdtempSync(join(tmpdir(), 'reelmesh-cp-client-'));
const servers: http.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

/** A registry on a Unix socket that answers `status` to every request; counts the requests. */
function registryAt(socket: string, status = 200): Promise<{ requests: () => number }> {
  let requests = 0;
  const server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(status === 200 ? JSON.stringify({ entries: [{ agent: 'a', spiffeId: 'spiffe://t/ns/x/sa/a', host: '127.0.0.1', port: 1 }] }) : JSON.stringify({ error: { code: 'FORBIDDEN', message: 'no' } }));
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(socket, () => resolve({ requests: () => requests })));
}

describe('ControlPlaneClient waitUnreachableMs', () => {
  it('waits for a control plane that comes up after the first call, and gets its answer', async () => {
    const socket = join(dir, 'late.sock');
    const client = new ControlPlaneClient({ url: `unix:${socket}`, waitUnreachableMs: 30_000 });
    let served: Promise<{ requests: () => number }> | undefined;
    const comesUp = new Promise<void>((resolve) => setTimeout(() => ((served = registryAt(socket)), resolve()), 400));
    const entries = await client.list();
    await comesUp;
    expect(entries.map((e) => e.agent)).toEqual(['a']);
    expect((await served!).requests()).toBe(1);
    client.close();
  });

  it('fails at once without it, and gives up after the deadline with the connection error', async () => {
    const socket = join(dir, 'never.sock');
    await expect(new ControlPlaneClient({ url: `unix:${socket}` }).list()).rejects.toMatchObject({ code: 'ENOENT' });
    const waiting = new ControlPlaneClient({ url: `unix:${socket}`, waitUnreachableMs: 500 });
    await expect(waiting.list()).rejects.toMatchObject({ code: 'ENOENT' });
    waiting.close();
  });

  it('never retries what the control plane answered: a refusal is final', async () => {
    const socket = join(dir, 'refuses.sock');
    const registry = await registryAt(socket, 403);
    const client = new ControlPlaneClient({ url: `unix:${socket}`, waitUnreachableMs: 30_000 });
    await expect(client.list()).rejects.toMatchObject({ status: 403 });
    expect(registry.requests()).toBe(1);
    client.close();
  });
});
