import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { helpRequested, loadMainConfig, usage } from './main-config';
import { generateAgentCredentials } from './provision';
import { tempDir } from './kms-test-support';

let dir: Awaited<ReturnType<typeof tempDir>>;
let principalsFile: string;
const required = () => ['--data-dir', join(dir.path, 'kms'), '--principals-file', principalsFile];

beforeAll(async () => {
  dir = await tempDir();
  principalsFile = join(dir.path, 'principals.json');
  await writeFile(principalsFile, JSON.stringify(generateAgentCredentials([{ name: 'owner' }]).principals), { mode: 0o600 });
});
afterAll(() => dir?.cleanup());

async function configError(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code?: string; message: string }> {
  return loadMainConfig(argv, env).then(
    () => ({ message: 'no error' }),
    (e: { code?: string; message: string }) => ({ code: e.code, message: e.message }),
  );
}

describe('kms-local configuration', () => {
  it('listens on 127.0.0.1, port 0 (any free port) and names no owner unless told', async () => {
    const config = await loadMainConfig(required(), {});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 0, keyCreators: [], platformAgents: [], logLevel: 'info' });
    expect(config.ownerActor).toBeUndefined();
    expect(config.workflowFile).toBeUndefined();
  });

  it('reads REELMESH_KMS_* variables; flags win; an empty variable counts as unset', async () => {
    const env = {
      REELMESH_KMS_DATA_DIR: '/from/env',
      REELMESH_KMS_PRINCIPALS_FILE: principalsFile,
      REELMESH_KMS_HOST: '0.0.0.0',
      REELMESH_KMS_PORT: '8443',
      REELMESH_KMS_OWNER_ACTOR: 'studio',
      REELMESH_KMS_PLATFORM_AGENTS: 'ledger:studio, audit:studio',
      REELMESH_KMS_REGION: '',
    };
    const fromEnv = await loadMainConfig([], env);
    expect(fromEnv).toMatchObject({ dataDir: '/from/env', host: '0.0.0.0', port: 8443, ownerActor: 'studio', region: undefined });
    expect(fromEnv.platformAgents).toEqual([
      { name: 'ledger', actor: 'studio' },
      { name: 'audit', actor: 'studio' },
    ]);
    const flagged = await loadMainConfig(['--port', '0', '--owner-actor', 'owner', '--data-dir', '/from/flag'], env);
    expect(flagged).toMatchObject({ dataDir: '/from/flag', port: 0, ownerActor: 'owner' });
  });

  it('refuses bad settings with CONFIG_INVALID and a message naming the setting', async () => {
    expect(await configError(['--port', '70000', ...required()])).toEqual({ code: 'CONFIG_INVALID', message: '--port or REELMESH_KMS_PORT must be a port 0-65535' });
    expect(await configError(required(), { REELMESH_KMS_PORT: 'http' })).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('REELMESH_KMS_PORT') });
    expect(await configError([], { REELMESH_KMS_DATA_DIR: '' })).toEqual({ code: 'CONFIG_INVALID', message: '--data-dir or REELMESH_KMS_DATA_DIR is required' });
    expect(await configError(['--data-dir', '/x'])).toEqual({ code: 'CONFIG_INVALID', message: '--principals-file or REELMESH_KMS_PRINCIPALS_FILE is required' });
    expect(await configError(['--data-dir', '/x', '--principals-file', join(dir.path, 'missing.json')])).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/^principals file .*missing\.json cannot be read: ENOENT/),
    });
    expect(await configError([...required(), '--platform-agents', 'ledger'])).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('"ledger" is not name:actor') });
    expect(await configError([...required(), '--no-such-flag'])).toEqual({ code: 'CONFIG_INVALID', message: "Unknown option '--no-such-flag'" });
  });

  it('shows usage for --help instead of starting', () => {
    expect(helpRequested(['--port', '0', '--help'])).toBe(true);
    expect(helpRequested(['--port', '0'])).toBe(false);
    expect(usage()).toContain('--port <port>');
    expect(usage()).toContain('REELMESH_KMS_OWNER_ACTOR');
  });
});
