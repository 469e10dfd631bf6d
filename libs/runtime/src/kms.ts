import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { agentKmsKeys } from '@reelmesh/agent-kit';
import { KMS_LOCAL } from '@reelmesh/app-kms-local';
import { kmsEnvironment, type KmsConfig } from '@reelmesh/envelope';
import { generateAgentCredentials, workflowKeyAlias } from '@reelmesh/kms-local';
import { writeFileAtomic } from '@reelmesh/storage';
import type { Workflow } from '@reelmesh/workflow';
import type { MeshSandbox } from './mesh';
import type { ProcessGroup } from './process-group';

/** Platform workloads of the owner that seal data too (the audit ledger), as KMS principals. */
export interface KmsPlatformAgent {
  name: string;
  actor: string;
}

/** KMS settings as the agent environment carries them (lists comma-separated). */
type KmsSettings = Partial<Record<keyof KmsConfig, string>>;

export interface RunningKms {
  endpoint: string;
  /** An agent's KMS settings: only its own credentials and the keys it may use. */
  settingsFor(agent: string): KmsSettings;
  /** The same settings as environment variables (what an agent process, or a test, reads). */
  envFor(agent: string): Record<string, string>;
  /** A platform workload's (the ledger's) KMS environment: its credentials and the workflow key. */
  platformEnv(agent: string): Record<string, string>;
}

const KMS_REGION = 'local-1';

interface KeysDetail {
  workflowKey: { arn: string };
  assetKeys: Record<string, { arn: string }>;
}

/**
 * The local KMS as its own process (the cluster uses AWS KMS): keys provisioned from the workflow,
 * one credential per agent (and per platform workload), key state sealed under a 0600 master
 * secret. It binds port 0 and reports its endpoint; everything that seals is configured after.
 * On a resumed run's state folder the key store (and its master secret) is reused as it is: keys
 * keep their ARNs and provisioning only refreshes their policies. Credentials are new on every
 * start (policies name principals, never access keys), so the old principals file is replaced.
 */
export async function startKms(opts: {
  group: ProcessGroup;
  workflow: Workflow;
  workflowPath: string;
  ownerActor: string;
  platformAgents: KmsPlatformAgent[];
  stateDir: string;
  logDir: string;
  /** Isolated pods: the KMS runs in the platform namespace, reachable by apps on its address. */
  sandbox?: MeshSandbox;
}): Promise<RunningKms> {
  const { principals, byAgent } = generateAgentCredentials([...opts.workflow.agents, ...opts.platformAgents]);
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  const principalsFile = join(opts.stateDir, 'principals.json');
  await writeFileAtomic(principalsFile, JSON.stringify(principals), { mode: 0o600 });
  const { ready } = await opts.group.spawn({
    name: 'kms',
    entry: KMS_LOCAL.main,
    env: {
      REELMESH_KMS_DATA_DIR: opts.stateDir,
      REELMESH_KMS_PRINCIPALS_FILE: principalsFile,
      REELMESH_KMS_WORKFLOW: opts.workflowPath,
      REELMESH_KMS_REGION: KMS_REGION,
      REELMESH_KMS_HOST: opts.sandbox?.platformAddress ?? '127.0.0.1',
      REELMESH_KMS_PORT: '0',
      REELMESH_KMS_OWNER_ACTOR: opts.ownerActor,
      REELMESH_KMS_PLATFORM_AGENTS: opts.platformAgents.map((a) => `${a.name}:${a.actor}`).join(','),
    },
    logFile: join(opts.logDir, 'kms.log'),
    // Stopped after the pods (and the ledger) have sealed their last objects.
    stopPhase: 2,
    wrap: opts.sandbox?.command('platform', 'root'),
    // Restarted with the same key store and principals, on the port every agent was given.
    restartSpec: (first) => ({ env: { REELMESH_KMS_PORT: new URL(first.endpoints.api).port } }),
  });
  const endpoint = ready.endpoints.api;
  const region = String(ready.details?.region ?? KMS_REGION);
  const keys = ready.details?.keys as KeysDetail;
  // Apps seal their volumes with KMS data keys: the one hole in their egress lock.
  if (opts.sandbox) await opts.sandbox.allowAppEgress(opts.sandbox.platformAddress, Number(new URL(endpoint).port));
  const credentials = (agent: string) => {
    const cred = byAgent[agent];
    if (!cred) throw new Error(`no KMS credential for ${agent}`);
    return { endpoint, region, accessKeyId: cred.accessKeyId, secretAccessKey: cred.secretAccessKey, keyId: workflowKeyAlias(opts.ownerActor) };
  };
  // Which keys an agent uses is agentKmsKeys' rule (every target); here they are named by ARN.
  const refs = {
    workflowKey: keys.workflowKey.arn,
    assetKey: (actor: string) => {
      const key = keys.assetKeys[actor];
      if (!key) throw new Error(`the local KMS provisioned no asset key for actor ${actor}`);
      return key.arn;
    },
  };
  const settingsFor = (agent: string): KmsSettings => {
    const { keyId, allowedKeyIds, assetKeyId } = agentKmsKeys(opts.workflow, agent, refs);
    return { ...credentials(agent), keyId, allowedKeyIds: allowedKeyIds.join(','), ...(assetKeyId ? { assetKeyId } : {}) };
  };
  return {
    endpoint,
    settingsFor,
    envFor: (agent) => kmsEnvironment(settingsFor(agent)),
    // The ledger reads back what it sealed when it reopens (a restarted control plane): it trusts the workflow key.
    platformEnv: (agent) => kmsEnvironment({ ...credentials(agent), allowedKeyIds: keys.workflowKey.arn }),
  };
}
