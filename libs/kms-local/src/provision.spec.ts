import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ListAliasesCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { startLocalKms, type LocalKms } from './server';
import { generateAgentCredentials, provisionWorkflowKeys, type ProvisionedKeys } from './provision';
import { provisionOptionsFor } from './workflow-agents';
import { sdkClient, tempDir } from './kms-test-support';

// The real workflow file: the single source of truth for agents, actors and the owner. The lists
// below derive from it; the agents named as examples (owner, vfx-1/2/3, color) are the shipped
// workflow's, whatever contractors are added around them.
const workflow = loadWorkflow();
const options = provisionOptionsFor(workflow);
const { agents } = options;
const OWNER_ACTOR = ownerOf(workflow).actor;
const actorOf = (agent: string) => agents.find((a) => a.name === agent)!.actor;
const agentsBut = (...names: string[]) => agents.map((a) => a.name).filter((name) => !names.includes(name));
const credentials = generateAgentCredentials(agents);

let kms: LocalKms;
let dir: Awaited<ReturnType<typeof tempDir>>;
let keys: ProvisionedKeys;
const clients = new Map<string, KMSClient>();

function as(agent: string): KMSClient {
  let client = clients.get(agent);
  if (!client) {
    const c = credentials.byAgent[agent];
    client = sdkClient(kms, c.accessKeyId, c.secretAccessKey);
    clients.set(agent, client);
  }
  return client;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'succeeded',
    (err: Error) => err.name,
  );
}

const WORKFLOW = `alias/reelmesh/${OWNER_ACTOR}/workflow`;

beforeAll(async () => {
  dir = await tempDir();
  kms = await startLocalKms({ dataDir: dir.path, principals: credentials.principals });
  keys = await provisionWorkflowKeys(kms.admin, options);
});

afterAll(async () => {
  for (const c of clients.values()) c.destroy();
  await kms?.stop();
  await dir?.cleanup();
});

describe('provisionWorkflowKeys: the owner workflow key', () => {
  it('creates the workflow key and one asset key per contractor actor, none for the owner', () => {
    expect(keys.workflowKey.alias).toBe(WORKFLOW);
    expect(Object.keys(keys.assetKeys).sort()).toEqual(workflow.actors.map((a) => a.name).filter((a) => a !== OWNER_ACTOR).sort());
    expect(keys.assetKeys.color.alias).toBe('alias/reelmesh/color/assets');
    expect(kms.admin.findKey(`alias/reelmesh/${OWNER_ACTOR}/assets`)).toBeUndefined();
  });

  it('gives every agent its own random credential and principal', () => {
    const ids = Object.values(credentials.byAgent).map((c) => c.accessKeyId);
    expect(new Set(ids).size).toBe(agents.length);
    expect(credentials.byAgent['vfx-2'].principal).toBe('agent/vfx-2');
    expect(credentials.byAgent['vfx-2'].secretAccessKey).not.toBe(credentials.byAgent['vfx-3'].secretAccessKey);
  });

  it('lets the owner seal and open workflow data under any context', async () => {
    const context = { workflow: 'feature-film', agent: 'owner', object: 'master' };
    const dk = await as('owner').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: context }));
    const sealed = await as('owner').send(new EncryptCommand({ KeyId: WORKFLOW, Plaintext: Buffer.from('x'), EncryptionContext: { any: 'thing' } }));
    expect(await failure(as('owner').send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: context })))).toBe('succeeded');
    expect(await failure(as('owner').send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { any: 'thing' } })))).toBe(
      'succeeded',
    );
  });

  it('lets an agent create and open data keys under contexts naming itself as agent', async () => {
    const context = { workflow: 'feature-film', step: 'picture-fx', agent: 'vfx-2', object: 'chunk-1' };
    const dk = await as('vfx-2').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: context }));
    const opened = await as('vfx-2').send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(opened.Plaintext as Uint8Array)).toEqual(Buffer.from(dk.Plaintext as Uint8Array));
  });

  it('denies an agent any context that does not name it', async () => {
    const colorsContext = { workflow: 'feature-film', agent: 'color', object: 'chunk-1' };
    expect(await failure(as('vfx-2').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: colorsContext })))).toBe(
      'AccessDeniedException',
    );
    const dk = await as('color').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: colorsContext }));
    // vfx-2 holding color's wrapped key, with color's (true) context: still denied.
    expect(await failure(as('vfx-2').send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: colorsContext })))).toBe(
      'AccessDeniedException',
    );
    expect(await failure(as('vfx-2').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256' })))).toBe('AccessDeniedException');
  });

  it('lets recipients named in the comma-separated list open, and nobody else', async () => {
    const context = { workflow: 'feature-film', agent: 'owner', recipients: 'vfx-1,owner', object: 'chunk-3' };
    const dk = await as('owner').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: context }));
    const decrypt = (agent: string) => as(agent).send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: context }));
    expect(await failure(decrypt('vfx-1'))).toBe('succeeded');
    for (const outsider of agentsBut('vfx-1', 'owner')) {
      expect(await failure(decrypt(outsider)), outsider).toBe('AccessDeniedException');
    }
  });

  it('an agent with a context naming itself but not the sealing one gets InvalidCiphertextException', async () => {
    const sealedFor = { workflow: 'feature-film', agent: 'vfx-2', object: 'chunk-9' };
    const dk = await as('vfx-2').send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: sealedFor }));
    const otherObject = { ...sealedFor, object: 'chunk-10' };
    expect(await failure(as('vfx-2').send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: otherObject })))).toBe(
      'InvalidCiphertextException',
    );
  });

  it('does not let agents Encrypt directly with the owner key', async () => {
    expect(await failure(as('vfx-2').send(new EncryptCommand({ KeyId: WORKFLOW, Plaintext: Buffer.from('x'), EncryptionContext: { agent: 'vfx-2' } })))).toBe(
      'AccessDeniedException',
    );
  });
});

describe('provisionWorkflowKeys: contractor asset keys', () => {
  const LUT_KEY = 'alias/reelmesh/color/assets';

  it('lets the contractor use its own asset key', async () => {
    const sealed = await as('color').send(new EncryptCommand({ KeyId: LUT_KEY, Plaintext: Buffer.from('LUT_3D_SIZE 33'), EncryptionContext: { asset: 'film-look.cube' } }));
    const opened = await as('color').send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { asset: 'film-look.cube' } }));
    expect(Buffer.from(opened.Plaintext as Uint8Array).toString()).toBe('LUT_3D_SIZE 33');
  });

  it("denies the owner and every other actor the contractor's key", async () => {
    const sealed = await as('color').send(new EncryptCommand({ KeyId: LUT_KEY, Plaintext: Buffer.from('secret grade'), EncryptionContext: { asset: 'lut' } }));
    // Every agent of every other actor, the owner's included.
    for (const outsider of agents.filter((a) => a.actor !== actorOf('color')).map((a) => a.name)) {
      const client = as(outsider);
      expect(await failure(client.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { asset: 'lut' } }))), outsider).toBe(
        'AccessDeniedException',
      );
      expect(await failure(client.send(new EncryptCommand({ KeyId: LUT_KEY, Plaintext: Buffer.from('x') }))), outsider).toBe('AccessDeniedException');
      expect(await failure(client.send(new GenerateDataKeyCommand({ KeyId: LUT_KEY, KeySpec: 'AES_256' }))), outsider).toBe('AccessDeniedException');
      expect(await failure(client.send(new DescribeKeyCommand({ KeyId: LUT_KEY }))), outsider).toBe('AccessDeniedException');
    }
    const ownersView = await as('owner').send(new ListAliasesCommand({}));
    expect(ownersView.Aliases?.map((a) => a.AliasName)).toEqual([WORKFLOW]);
  });

  it("shares an actor's key among all of that actor's agents", async () => {
    const sealed = await as('vfx-2').send(new EncryptCommand({ KeyId: 'alias/reelmesh/vfx/assets', Plaintext: Buffer.from('preset') }));
    for (const agent of agents.filter((a) => a.actor === actorOf('vfx-2') && a.name !== 'vfx-2').map((a) => a.name)) {
      expect(await failure(as(agent).send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }))), agent).toBe('succeeded');
    }
  });
});

describe('provisionWorkflowKeys: re-running', () => {
  it('keeps existing keys and applies the current policy', async () => {
    const again = await provisionWorkflowKeys(kms.admin, options);
    expect(again).toEqual(keys);
    // A new contractor agent joins: it gets a credential and the workflow key's policy now covers it.
    const extended = [...agents, { name: 'subs', actor: 'subtitles' }];
    const subs = generateAgentCredentials([{ name: 'subs' }]).byAgent.subs;
    kms.admin.addPrincipal(subs.accessKeyId, subs);
    const third = await provisionWorkflowKeys(kms.admin, { ...options, agents: extended });
    expect(third.workflowKey).toEqual(keys.workflowKey);
    expect(third.assetKeys.subtitles.alias).toBe('alias/reelmesh/subtitles/assets');
    const client = sdkClient(kms, subs.accessKeyId, subs.secretAccessKey);
    const dk = await client.send(new GenerateDataKeyCommand({ KeyId: WORKFLOW, KeySpec: 'AES_256', EncryptionContext: { agent: 'subs' } }));
    expect(dk.Plaintext).toHaveLength(32);
    client.destroy();
  });

  it('rejects agent names that could break list matching', async () => {
    await expect(provisionWorkflowKeys(kms.admin, { ...options, agents: [...agents, { name: 'a,b', actor: 'x' }] })).rejects.toThrow(/agent {"name":"a,b","actor":"x"}: name and actor must be a DNS-label name/);
    await expect(provisionWorkflowKeys(kms.admin, { ...options, ownerActor: 'owner/../x' })).rejects.toThrow(/owner actor "owner\/\.\.\/x"/);
  });
});
