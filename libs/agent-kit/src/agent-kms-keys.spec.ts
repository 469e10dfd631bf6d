// Compose and kind name an agent's keys by alias (agentKmsKeys with alias refs); the data-key
// provider resolves each allowed alias with DescribeKey. So every agent's own principal must be
// able to DescribeKey every key agentKmsKeys gives it, and use it under its own context — and the
// owner's platform workload (the ledger) the workflow key. Real server, real SDK, the real workflow.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
// The local KMS is the dev/test platform: agent-kit itself never imports it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { assetKeyAlias, generateAgentCredentials, provisionOptionsFor, provisionWorkflowKeys, startLocalKms, workflowKeyAlias, type LocalKms, type ProvisionedKeys } from '@reelmesh/kms-local';
import { loadWorkflow, ownerOf } from '@reelmesh/workflow';
import { agentKmsKeys } from './agent-env';

const workflow = loadWorkflow();
const owner = ownerOf(workflow);
const LEDGER = { name: 'audit-ledger', actor: owner.actor };
const options = provisionOptionsFor(workflow, { platformAgents: [LEDGER] });
const credentials = generateAgentCredentials(options.agents);
const aliases = { workflowKey: workflowKeyAlias(owner.actor), assetKey: assetKeyAlias };

let kms: LocalKms;
let dir: string;
let keys: ProvisionedKeys;
const clients: KMSClient[] = [];
const as = (agent: string) => {
  const c = credentials.byAgent[agent];
  const client = new KMSClient({ endpoint: kms.endpoint, region: kms.region, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }, maxAttempts: 1 });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-kms-keys-'));
  kms = await startLocalKms({ dataDir: dir, principals: credentials.principals });
  keys = await provisionWorkflowKeys(kms.admin, options);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await kms?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the keys agentKmsKeys names, as each agent's own principal", () => {
  it('every agent may DescribeKey each allowed alias (to its key ARN) and seal and open under its own context with it', async () => {
    for (const agent of workflow.agents) {
      const client = as(agent.name);
      const { keyId, allowedKeyIds, assetKeyId } = agentKmsKeys(workflow, agent.name, aliases);
      const arns = new Set<string>();
      for (const alias of allowedKeyIds) {
        const described = await client.send(new DescribeKeyCommand({ KeyId: alias }));
        arns.add(described.KeyMetadata!.Arn!);
      }
      expect([...arns].sort(), agent.name).toEqual([keys.workflowKey.arn, ...(assetKeyId ? [keys.assetKeys[agent.actor].arn] : [])].sort());
      for (const key of [keyId, ...(assetKeyId ? [assetKeyId] : [])]) {
        const context = { agent: agent.name };
        const generated = await client.send(new GenerateDataKeyCommand({ KeyId: key, KeySpec: 'AES_256', EncryptionContext: context }));
        // The header holds this ARN: one DescribeKey of the allowed aliases gave it.
        expect(arns.has(generated.KeyId!), `${agent.name}: ${generated.KeyId}`).toBe(true);
        const opened = await client.send(new DecryptCommand({ KeyId: generated.KeyId, CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }));
        expect(Buffer.from(opened.Plaintext!).equals(Buffer.from(generated.Plaintext!))).toBe(true);
      }
    }
  });

  it("the owner's ledger may DescribeKey and use the workflow key", async () => {
    const client = as(LEDGER.name);
    expect((await client.send(new DescribeKeyCommand({ KeyId: aliases.workflowKey }))).KeyMetadata!.Arn).toBe(keys.workflowKey.arn);
    const generated = await client.send(new GenerateDataKeyCommand({ KeyId: aliases.workflowKey, KeySpec: 'AES_256', EncryptionContext: { agent: LEDGER.name } }));
    expect(generated.KeyId).toBe(keys.workflowKey.arn);
  });
});
