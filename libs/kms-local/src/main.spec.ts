import { describe, it, expect, afterEach } from 'vitest';
import { DescribeKeyCommand, GenerateDataKeyCommand } from '@aws-sdk/client-kms';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateAgentCredentials } from './provision';
import { sdkClient, tempDir } from './kms-test-support';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = join(root, 'node_modules/.bin/tsx');
const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
const workflowYaml = join(root, 'policies/workflow.yaml');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; firstLine: Promise<string | undefined>; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(tsx, [mainTs, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const firstLine = new Promise<string | undefined>((resolve) => {
    lines.once('line', resolve);
    lines.once('close', () => resolve(undefined));
  });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exit;
  });
  return { child, firstLine, exit, stderr: () => stderr };
}

describe('kms-local main entry', () => {
  it('starts, provisions from the workflow file, prints one ready line, and stops on SIGTERM', async () => {
    const dir = await tempDir();
    cleanups.unshift(dir.cleanup);
    const creds = generateAgentCredentials([{ name: 'owner' }, { name: 'color' }]);
    const principalsFile = join(dir.path, 'principals.json');
    await writeFile(principalsFile, JSON.stringify(creds.principals), { mode: 0o600 });

    const proc = run(['--data-dir', join(dir.path, 'kms'), '--principals-file', principalsFile, '--workflow', workflowYaml, '--port', '0']);
    const ready = JSON.parse((await proc.firstLine) ?? 'null');
    expect(ready).toMatchObject({ event: 'ready', endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(ready.keys.workflowKey.alias).toBe('alias/reelmesh/owner/workflow');

    const owner = sdkClient(ready, creds.byAgent.owner.accessKeyId, creds.byAgent.owner.secretAccessKey);
    const described = await owner.send(new DescribeKeyCommand({ KeyId: 'alias/reelmesh/owner/workflow' }));
    expect(described.KeyMetadata?.KeyId).toBe(ready.keys.workflowKey.keyId);
    const color = sdkClient(ready, creds.byAgent.color.accessKeyId, creds.byAgent.color.secretAccessKey);
    const dk = await color.send(new GenerateDataKeyCommand({ KeyId: 'alias/reelmesh/color/assets', KeySpec: 'AES_256' }));
    expect(dk.Plaintext).toHaveLength(32);
    owner.destroy();
    color.destroy();

    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
    expect(proc.stderr()).toContain('stopping local kms');
  });

  it('refuses a principals file others can read, with a clear message and no ready line', async () => {
    const dir = await tempDir();
    cleanups.unshift(dir.cleanup);
    const principalsFile = join(dir.path, 'principals.json');
    await writeFile(principalsFile, JSON.stringify(generateAgentCredentials([{ name: 'owner' }]).principals), { mode: 0o644 });
    const proc = run(['--data-dir', join(dir.path, 'kms'), '--principals-file', principalsFile]);
    expect(await proc.firstLine).toBeUndefined();
    expect(await proc.exit).toBe(1);
    expect(proc.stderr()).toMatch(/principals file .*chmod 600/);
  });

  it('reads its configuration from the environment too', async () => {
    const dir = await tempDir();
    cleanups.unshift(dir.cleanup);
    const principalsFile = join(dir.path, 'principals.json');
    await writeFile(principalsFile, JSON.stringify(generateAgentCredentials([{ name: 'owner' }]).principals), { mode: 0o600 });
    const proc = run([], {
      REELMESH_KMS_DATA_DIR: join(dir.path, 'kms'),
      REELMESH_KMS_PRINCIPALS_FILE: principalsFile,
      REELMESH_KMS_REGION: 'eu-west-3',
    });
    const ready = JSON.parse((await proc.firstLine) ?? 'null');
    expect(ready).toMatchObject({ event: 'ready', region: 'eu-west-3' });
    expect(ready.keys).toBeUndefined();
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
  });

  it('requires a data dir', async () => {
    const proc = run([], { REELMESH_KMS_DATA_DIR: '' });
    expect(await proc.exit).toBe(1);
    expect(proc.stderr()).toMatch(/REELMESH_KMS_DATA_DIR is required/);
  });
});
