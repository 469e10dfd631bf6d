import { describe, it, expect, afterEach } from 'vitest';
import { ListKeysCommand } from '@aws-sdk/client-kms';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalKms } from './server';
import { clientAs, tempDir } from './kms-test-support';
import type { PrincipalMap } from './principals';

const principals: PrincipalMap = { AKOWNER: { secretAccessKey: 'owner-secret', principal: 'agent/owner' } };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function dataDir(): Promise<string> {
  const dir = await tempDir();
  cleanups.push(dir.cleanup);
  return dir.path;
}

describe('local KMS: where it listens', () => {
  it('binds 127.0.0.1 on any free port by default and reports the endpoint it got', async () => {
    const [a, b] = await Promise.all([startLocalKms({ dataDir: await dataDir(), principals }), startLocalKms({ dataDir: await dataDir(), principals })]);
    cleanups.push(() => a.stop(), () => b.stop());
    expect(a.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(a.endpoint).port)).toBeGreaterThan(0);
    // Two at once: no pre-picked port to collide on.
    expect(b.endpoint).not.toBe(a.endpoint);
  });

  it('binds the address it is given and serves the SDK at the reported endpoint', async () => {
    const kms = await startLocalKms({ dataDir: await dataDir(), principals, listen: { host: '127.0.0.1', port: 0 } });
    cleanups.push(() => kms.stop());
    const client = clientAs(kms, principals, 'agent/owner');
    cleanups.push(async () => client.destroy());
    expect((await client.send(new ListKeysCommand({}))).Keys).toEqual([]);
  });

  it('stops even while an SDK client holds a keep-alive connection', async () => {
    const kms = await startLocalKms({ dataDir: await dataDir(), principals, listen: '127.0.0.1:0' });
    const client = clientAs(kms, principals, 'agent/owner');
    cleanups.push(async () => client.destroy());
    await client.send(new ListKeysCommand({}));
    // The idle keep-alive socket is dropped at once, not after the grace for busy ones (5 s).
    const started = Date.now();
    await kms.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    const fresh = clientAs(kms, principals, 'agent/owner');
    cleanups.push(async () => fresh.destroy());
    await expect(fresh.send(new ListKeysCommand({}))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses a Unix socket (SDK clients reach only http endpoints) and a malformed address, creating nothing', async () => {
    const dir = await dataDir();
    await expect(startLocalKms({ dataDir: join(dir, 'unix'), principals, listen: `unix:${join(dir, 'kms.sock')}` })).rejects.toThrow(
      /listens on TCP \(AWS SDK clients cannot reach a Unix socket\)/,
    );
    await expect(startLocalKms({ dataDir: join(dir, 'bad'), principals, listen: 'localhost' })).rejects.toThrow(/<host>:<port>/);
    expect(existsSync(join(dir, 'unix'))).toBe(false);
  });
});
