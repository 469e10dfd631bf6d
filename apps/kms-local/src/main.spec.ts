import { describe, it, expect, afterEach } from 'vitest';
import { DescribeKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { runProgramToExit, startProgram, type StartedProgram } from '@reelmesh/http-kit/testing';
import { parseServiceLine } from '@reelmesh/http-kit';
import { generateAgentCredentials } from '@reelmesh/kms-local';
import { DEFAULT_WORKFLOW_PATH, loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { MINI } from '@reelmesh/workflow/testing';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMS_LOCAL } from './index';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

/** A data dir and a 0600 principals file (credentials for `agents`) in a fresh temp folder. */
async function setup(agents: string[], mode = 0o600): Promise<{ dir: string; principalsFile: string; creds: ReturnType<typeof generateAgentCredentials> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kms-local-app-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const creds = generateAgentCredentials(agents.map((name) => ({ name })));
  const principalsFile = join(dir, 'principals.json');
  await writeFile(principalsFile, JSON.stringify(creds.principals), { mode });
  return { dir, principalsFile, creds };
}

async function start(args: string[], env: Record<string, string> = {}): Promise<StartedProgram> {
  const kms = await startProgram(KMS_LOCAL.main, args, env);
  cleanups.push(() => kms.stop());
  return kms;
}

function client(endpoint: string, region: string, cred: { accessKeyId: string; secretAccessKey: string }): KMSClient {
  const kms = new KMSClient({ endpoint, region, credentials: cred, maxAttempts: 1 });
  cleanups.push(async () => kms.destroy());
  return kms;
}

const API = /^http:\/\/127\.0\.0\.1:\d+$/;

describe('kms-local service', () => {
  it('is the program the runtime starts', () => {
    expect(KMS_LOCAL.name).toBe('kms-local');
    expect(KMS_LOCAL.main).toBe(new URL('./main.ts', import.meta.url).pathname);
  });

  it('provisions from the workflow file, reports endpoint, region and keys in its ready line, stops on SIGTERM', async () => {
    const { dir, principalsFile, creds } = await setup(['owner', 'color']);
    const kms = await start(['--data-dir', join(dir, 'kms'), '--principals-file', principalsFile, '--workflow', DEFAULT_WORKFLOW_PATH]);
    const { ready } = kms;
    expect(ready).toMatchObject({ event: 'ready', service: 'kms-local', pid: kms.child.pid, endpoints: { api: expect.stringMatching(API) } });
    expect(Object.keys(ready.endpoints)).toEqual(['api']);
    const details = ready.details as { region: string; keys: { workflowKey: { alias: string; keyId: string; arn: string }; assetKeys: Record<string, { alias: string; arn: string }> } };
    expect(details.region).toBe('us-east-1');
    const { workflowKey, assetKeys } = details.keys;
    // The owner's workflow key and one asset key per contractor actor, as the workflow file names them.
    const workflow = loadWorkflow(DEFAULT_WORKFLOW_PATH);
    const ownerActor = ownerOf(workflow).actor;
    expect(workflowKey.alias).toBe(`alias/reelmesh/${ownerActor}/workflow`);
    expect(workflowKey.arn).toBe(`arn:aws:kms:us-east-1:000000000000:key/${workflowKey.keyId}`);
    expect(Object.keys(assetKeys).sort()).toEqual(workflow.actors.map((a) => a.name).filter((a) => a !== ownerActor).sort());
    expect(assetKeys.color.alias).toBe('alias/reelmesh/color/assets');

    // The reported endpoint and keys are the real ones: the SDK reaches them.
    const owner = client(ready.endpoints.api, details.region, creds.byAgent.owner);
    expect((await owner.send(new DescribeKeyCommand({ KeyId: workflowKey.alias }))).KeyMetadata?.Arn).toBe(workflowKey.arn);
    const color = client(ready.endpoints.api, details.region, creds.byAgent.color);
    const dk = await color.send(new GenerateDataKeyCommand({ KeyId: assetKeys.color.arn, KeySpec: 'AES_256' }));
    expect(dk.Plaintext).toHaveLength(32);

    expect(await kms.stop()).toBe(0);
    expect(kms.stderr()).toMatch(/"reason":"SIGTERM".*"msg":"stopping local kms"/);
  });

  it("names the workflow key after the workflow's owner actor, or the one given explicitly", async () => {
    const { dir, principalsFile } = await setup(['owner']);
    const workflowFile = join(dir, 'studio.yaml');
    // The owner's agent is still `owner`, but its actor is `studio`.
    await writeFile(workflowFile, MINI.replace('{ name: owner, description: Owner }', '{ name: studio, description: Studio }').replace('actor: owner', 'actor: studio'));
    const env = { REELMESH_KMS_DATA_DIR: join(dir, 'kms'), REELMESH_KMS_PRINCIPALS_FILE: principalsFile, REELMESH_KMS_WORKFLOW: workflowFile, REELMESH_KMS_REGION: 'eu-west-3' };
    const derived = await start([], env);
    expect(derived.ready.details).toMatchObject({ region: 'eu-west-3', keys: { workflowKey: { alias: 'alias/reelmesh/studio/workflow' }, assetKeys: { fx: { alias: 'alias/reelmesh/fx/assets' } } } });
    expect(await derived.stop()).toBe(0);

    const explicit = await start([], { ...env, REELMESH_KMS_DATA_DIR: join(dir, 'kms-2'), REELMESH_KMS_OWNER_ACTOR: 'fx' });
    expect(explicit.ready.details).toMatchObject({ keys: { workflowKey: { alias: 'alias/reelmesh/fx/workflow' }, assetKeys: { studio: { alias: 'alias/reelmesh/studio/assets' } } } });
  });

  it('without a workflow it provisions nothing and its details are the region alone', async () => {
    const { dir, principalsFile } = await setup(['owner']);
    const kms = await start(['--data-dir', join(dir, 'kms'), '--principals-file', principalsFile, '--region', 'local-1']);
    expect(kms.ready.endpoints).toEqual({ api: expect.stringMatching(API) });
    expect(kms.ready.details).toEqual({ region: 'local-1' });
  });

  it('binds the host and port it is told (REELMESH_KMS_HOST / REELMESH_KMS_PORT): a taken port is the error line', async () => {
    const { dir, principalsFile } = await setup(['owner']);
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(resolve)));
    const port = (taken.address() as { port: number }).port;
    const run = await runProgramToExit(KMS_LOCAL.main, ['--data-dir', join(dir, 'kms'), '--principals-file', principalsFile], {
      REELMESH_KMS_HOST: '127.0.0.1',
      REELMESH_KMS_PORT: String(port),
    });
    expect(run.code).toBe(1);
    expect(run.errorLine).toMatchObject({ event: 'error', service: 'kms-local', code: 'EADDRINUSE', message: expect.stringContaining(`127.0.0.1:${port}`) });
  });

  it('a bad start prints the error line with a clear message, exits 1 and never a ready line', async () => {
    const { dir, principalsFile } = await setup(['owner'], 0o644);
    const run = await runProgramToExit(KMS_LOCAL.main, ['--data-dir', join(dir, 'kms'), '--principals-file', principalsFile]);
    expect(run.code).toBe(1);
    expect(run.errorLine).toMatchObject({
      event: 'error',
      service: 'kms-local',
      code: 'CONFIG_INVALID',
      message: `principals file ${principalsFile} must not be accessible to group or others (chmod 600)`,
    });
    expect(run.stdout.split('\n').map(parseServiceLine).filter(Boolean)).toEqual([]);
    // Nothing but the error line on stderr: the runtime shows it as is.
    expect(run.stderr.trim().split('\n')).toHaveLength(1);

    const invalid = join(dir, 'workflow.yaml');
    await writeFile(invalid, MINI.replace('{ from: demux, to: assemble', '{ from: demux, to: grade'));
    const privateFile = join(dir, 'private.json');
    await writeFile(privateFile, '{}', { mode: 0o600 });
    const bad = await runProgramToExit(KMS_LOCAL.main, ['--data-dir', join(dir, 'kms'), '--principals-file', privateFile, '--workflow', invalid]);
    expect(bad.code).toBe(1);
    expect(bad.errorLine).toMatchObject({ service: 'kms-local', code: 'WORKFLOW_INVALID', message: expect.stringContaining('grade') });
  });

  it('--help shows usage and exits 0 without starting', async () => {
    const run = await runProgramToExit(KMS_LOCAL.main, ['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--principals-file <file>');
    expect(run.errorLine).toBeUndefined();
  });
});
