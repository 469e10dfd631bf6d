import { randomBytes } from 'node:crypto';
import type { KmsAdmin } from './admin';
import type { KeyPolicy } from './policy';
import type { PrincipalCredential, PrincipalMap } from './principals';
import { isName, NAME_HINT } from '@reelmesh/addressing';

/** An agent of the workflow file: `agents[].name` and `agents[].actor`. */
export interface WorkflowAgentRef {
  name: string;
  actor: string;
}

export interface ProvisionOptions {
  agents: WorkflowAgentRef[];
  /** The actor whose key seals workflow data: `ownerOf(workflow).actor` (no default, so a
   * workflow whose owner is not called `owner` never gets a key nobody can use). */
  ownerActor: string;
  /** Encryption-context keys the workflow key's conditions read. Defaults `agent` and `recipients`. */
  contextKeys?: { agent?: string; recipients?: string };
}

export interface ProvisionedKey {
  alias: string;
  keyId: string;
  arn: string;
}

export interface ProvisionedKeys {
  workflowKey: ProvisionedKey;
  /** actor -> that contractor's private-asset key. */
  assetKeys: Record<string, ProvisionedKey>;
}

export interface AgentCredential extends PrincipalCredential {
  accessKeyId: string;
}

const DATA_KEY_ACTIONS = ['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'];

/** The principal an agent authenticates as; `${agent}` in policies expands back to the name. */
export function agentPrincipal(agentName: string): string {
  return `agent/${agentName}`;
}

/** The owner's workflow key; pass `ownerOf(workflow).actor`. */
export function workflowKeyAlias(ownerActor: string): string {
  return `alias/reelmesh/${ownerActor}/workflow`;
}

export function assetKeyAlias(actor: string): string {
  return `alias/reelmesh/${actor}/assets`;
}

/**
 * The owner's agents use the workflow key freely; every other agent may create and open data keys
 * only under contexts naming itself: `agent` equal to its name, or its name in `recipients`.
 */
export function workflowKeyPolicy(options: ProvisionOptions): KeyPolicy {
  const { ownerActor } = options;
  const agentKey = options.contextKeys?.agent ?? 'agent';
  const recipientsKey = options.contextKeys?.recipients ?? 'recipients';
  const owners = principalsOf(options.agents.filter((a) => a.actor === ownerActor));
  const contractors = principalsOf(options.agents.filter((a) => a.actor !== ownerActor));
  if (owners.length === 0) throw new Error(`no agent belongs to the owner actor ${ownerActor}`);
  const statements: KeyPolicy['statements'] = [
    { sid: 'owner-seals-workflow-data', principals: owners, actions: ['DescribeKey', 'Encrypt', 'Decrypt', ...DATA_KEY_ACTIONS] },
  ];
  if (contractors.length > 0) {
    statements.push(
      { sid: 'agent-describe', principals: contractors, actions: ['DescribeKey'] },
      {
        sid: 'agent-own-context',
        principals: contractors,
        actions: ['Decrypt', ...DATA_KEY_ACTIONS],
        contextEquals: { [agentKey]: '${agent}' },
      },
      {
        sid: 'agent-named-recipient',
        principals: contractors,
        actions: ['Decrypt', ...DATA_KEY_ACTIONS],
        contextListContains: { [recipientsKey]: '${agent}' },
      },
    );
  }
  return { version: 1, statements };
}

/** Only the actor's own agents; the owner is deliberately absent. */
export function assetKeyPolicy(actor: string, agents: WorkflowAgentRef[]): KeyPolicy {
  const own = principalsOf(agents.filter((a) => a.actor === actor));
  if (own.length === 0) throw new Error(`actor ${actor} has no agents`);
  return {
    version: 1,
    statements: [
      { sid: `${actor}-private-assets`, principals: own, actions: ['DescribeKey', 'Encrypt', 'Decrypt', ...DATA_KEY_ACTIONS] },
    ],
  };
}

/**
 * Creates the owner's workflow key and one private-asset key per contractor actor. Idempotent:
 * existing aliases keep their key (data sealed under it stays readable) and get the current policy.
 */
export async function provisionWorkflowKeys(admin: KmsAdmin, options: ProvisionOptions): Promise<ProvisionedKeys> {
  for (const agent of options.agents) {
    // Names become key aliases and principals: the workflow's one name rule.
    if (!isName(agent.name) || !isName(agent.actor)) throw new Error(`agent ${JSON.stringify(agent)}: name and actor must be ${NAME_HINT}`);
  }
  const { ownerActor } = options;
  // The actor becomes part of an alias: same rule as agent actors.
  if (!isName(ownerActor)) throw new Error(`owner actor ${JSON.stringify(ownerActor)} must be ${NAME_HINT}`);
  const ensure = async (alias: string, description: string, policy: KeyPolicy): Promise<ProvisionedKey> => {
    const existing = admin.findKey(alias);
    if (existing) {
      await admin.putKeyPolicy(alias, policy);
      return { alias, keyId: existing.keyId, arn: existing.arn };
    }
    const created = await admin.createKey({ alias, description, policy });
    return { alias, keyId: created.keyId, arn: created.arn };
  };

  const workflowKey = await ensure(
    workflowKeyAlias(ownerActor),
    `${ownerActor}: workflow data`,
    workflowKeyPolicy(options),
  );
  const assetKeys: Record<string, ProvisionedKey> = {};
  const contractors = [...new Set(options.agents.map((a) => a.actor))].filter((actor) => actor !== ownerActor);
  for (const actor of contractors) {
    assetKeys[actor] = await ensure(assetKeyAlias(actor), `${actor}: private assets`, assetKeyPolicy(actor, options.agents));
  }
  return { workflowKey, assetKeys };
}

/** Fresh random credentials per agent: `principals` feeds the server, `byAgent` goes to each agent. */
export function generateAgentCredentials(agents: Pick<WorkflowAgentRef, 'name'>[]): {
  principals: PrincipalMap;
  byAgent: Record<string, AgentCredential>;
} {
  const principals: PrincipalMap = {};
  const byAgent: Record<string, AgentCredential> = {};
  for (const { name } of agents) {
    const accessKeyId = `RMLK${randomBytes(10).toString('hex').toUpperCase()}`;
    const credential = { secretAccessKey: randomBytes(30).toString('base64url'), principal: agentPrincipal(name) };
    principals[accessKeyId] = credential;
    byAgent[name] = { accessKeyId, ...credential };
  }
  return { principals, byAgent };
}

function principalsOf(agents: WorkflowAgentRef[]): string[] {
  return [...new Set(agents.map((a) => agentPrincipal(a.name)))];
}
