import { describe, it, expect, afterEach } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalKms, type LocalKms } from './server';
import { clientAs, tempDir } from './kms-test-support';
import type { PrincipalMap } from './principals';
import type { KeyPolicy } from './policy';

const principals: PrincipalMap = {
  AKOWNER: { secretAccessKey: 'owner-secret', principal: 'agent/owner' },
  AKVFX2: { secretAccessKey: 'vfx2-secret', principal: 'agent/vfx-2' },
};
const ownerOnly: KeyPolicy = { version: 1, statements: [{ principals: ['agent/owner'], actions: ['*'] }] };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function start(dataDir: string, extra: { masterKeyFile?: string } = {}): Promise<LocalKms> {
  const kms = await startLocalKms({ dataDir, principals, ...extra });
  cleanups.push(() => kms.stop());
  return kms;
}

async function newDir(): Promise<string> {
  const dir = await tempDir();
  cleanups.unshift(dir.cleanup);
  return dir.path;
}

describe('local KMS persistence', () => {
  it('keys, aliases, policies and key state survive a restart', async () => {
    const dataDir = await newDir();
    const first = await start(dataDir);
    const sealedKey = await first.admin.createKey({ alias: 'alias/p/sealed', description: 'kept', policy: ownerOnly });
    const disabled = await first.admin.createKey({ alias: 'alias/p/disabled', policy: ownerOnly });
    await first.admin.setKeyEnabled('alias/p/disabled', false);
    const owner1 = clientAs(first, principals, 'agent/owner');
    const sealed = await owner1.send(
      new EncryptCommand({ KeyId: 'alias/p/sealed', Plaintext: Buffer.from('persist me'), EncryptionContext: { o: '1' } }),
    );
    owner1.destroy();
    await first.stop();

    const second = await start(dataDir);
    const owner2 = clientAs(second, principals, 'agent/owner');
    const described = await owner2.send(new DescribeKeyCommand({ KeyId: 'alias/p/sealed' }));
    expect(described.KeyMetadata).toMatchObject({ KeyId: sealedKey.keyId, Description: 'kept' });
    const opened = await owner2.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { o: '1' } }));
    expect(Buffer.from(opened.Plaintext as Uint8Array).toString()).toBe('persist me');
    expect(second.admin.describeKey(disabled.keyId)).toMatchObject({ enabled: false, aliases: ['alias/p/disabled'] });
    // The policy came back too: vfx-2 is still shut out.
    const vfx2 = clientAs(second, principals, 'agent/vfx-2');
    await expect(vfx2.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { o: '1' } }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    owner2.destroy();
    vfx2.destroy();
  });

  it('writes the master secret 0600 and nothing readable to the data dir', async () => {
    const dataDir = await newDir();
    const kms = await start(dataDir);
    await kms.admin.createKey({ alias: 'alias/p/visible-name', description: 'a-description', policy: ownerOnly });
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
    const files = await readdir(dataDir);
    expect(files.sort()).toEqual(['kms-state.sealed', 'master.key']);
    const state = await readFile(join(dataDir, 'kms-state.sealed'));
    expect((await stat(join(dataDir, 'kms-state.sealed'))).mode & 0o077).toBe(0);
    for (const needle of ['alias/p/visible-name', 'a-description', 'agent/owner']) {
      expect(state.includes(Buffer.from(needle))).toBe(false);
    }
  });

  it('refuses to start when the master secret is group or world readable', async () => {
    const dataDir = await newDir();
    await (await start(dataDir)).stop();
    cleanups.pop();
    for (const mode of [0o640, 0o604, 0o660]) {
      await chmod(join(dataDir, 'master.key'), mode);
      await expect(startLocalKms({ dataDir, principals })).rejects.toMatchObject({
        name: 'MasterSecretError',
        message: expect.stringMatching(/chmod 600/),
      });
    }
  });

  it('refuses to start when the state exists but the master secret is gone or wrong', async () => {
    const dataDir = await newDir();
    const kms = await start(dataDir);
    await kms.admin.createKey({ policy: ownerOnly });
    await kms.stop();
    cleanups.pop();

    const master = join(dataDir, 'master.key');
    await writeFile(master, randomBytes(32), { mode: 0o600 });
    await expect(startLocalKms({ dataDir, principals })).rejects.toMatchObject({ name: 'SealedFileError' });
    await rm(master);
    await expect(startLocalKms({ dataDir, principals })).rejects.toMatchObject({ name: 'MasterSecretError' });
    // No new master secret was minted to silently orphan the sealed state.
    expect(await readdir(dataDir)).toEqual(['kms-state.sealed']);
  });

  it('refuses a tampered state file', async () => {
    const dataDir = await newDir();
    const kms = await start(dataDir);
    await kms.admin.createKey({ policy: ownerOnly });
    await kms.stop();
    cleanups.pop();
    const file = join(dataDir, 'kms-state.sealed');
    const sealed = await readFile(file);
    sealed[sealed.length - 20] ^= 1;
    await writeFile(file, sealed);
    await expect(startLocalKms({ dataDir, principals })).rejects.toMatchObject({ name: 'SealedFileError' });
  });

  it('can keep the master secret outside the data dir', async () => {
    const dataDir = await newDir();
    const secretDir = await newDir();
    const masterKeyFile = join(secretDir, 'kms-master');
    const kms = await start(dataDir, { masterKeyFile });
    const created = await kms.admin.createKey({ alias: 'alias/p/split', policy: ownerOnly });
    await kms.stop();
    cleanups.pop();
    expect(await readdir(dataDir)).toEqual(['kms-state.sealed']);
    const again = await start(dataDir, { masterKeyFile });
    expect(again.admin.findKey('alias/p/split')).toMatchObject({ keyId: created.keyId, aliases: ['alias/p/split'] });
  });
});
