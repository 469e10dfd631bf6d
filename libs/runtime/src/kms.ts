import { writeFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assetKeyAlias, generateAgentCredentials, workflowKeyAlias } from '@reelmesh/kms-local';
import type { Workflow } from '@reelmesh/workflow';
import type { MeshSandbox } from './mesh';
import type { ProcessGroup } from './process-group';
import { REPO_ROOT } from './repo';

export interface RunningKms {
  endpoint: string;
  /** Per-agent environment: only that agent's own credentials and the keys it may use. */
  envFor(agent: string): Record<string, string>;
}

/** Platform workloads of the owner that seal data too (the audit ledger), as KMS principals. */
export interface KmsPlatformAgent {
  name: string;
  actor: string;
}

/**
 * Where the KMS will listen and the credentials of workloads that must be configured before it
 * is up (the control plane's audit ledger starts alongside it): fixed before either starts.
 */
export interface KmsPlan {
  endpoint: string;
  port: number;
  platformAgents: KmsPlatformAgent[];
  principals: ReturnType<typeof generateAgentCredentials>['principals'];
  /** A workload's KMS environment before the KMS is up: its credentials and the workflow key alias
   * (enough for a platform workload; envFor adds what agents need once the keys exist). */
  platformEnv(agent: string): Record<string, string>;
}

export function planKms(opts: { workflow: Workflow; port: number; host: string; ownerActor: string; platformAgents: KmsPlatformAgent[] }): KmsPlan {
  const { principals, byAgent } = generateAgentCredentials([...opts.workflow.agents, ...opts.platformAgents]);
  const endpoint = `http://${opts.host}:${opts.port}`;
  return {
    endpoint,
    port: opts.port,
    platformAgents: opts.platformAgents,
    principals,
    platformEnv(agent) {
      const cred = byAgent[agent];
      return {
        REELMESH_KMS_ENDPOINT: endpoint,
        REELMESH_KMS_REGION: KMS_REGION,
        REELMESH_KMS_ACCESS_KEY_ID: cred.accessKeyId,
        REELMESH_KMS_SECRET_ACCESS_KEY: cred.secretAccessKey,
        // The ARN is not known yet: the alias seals, and what it generated it may open.
        REELMESH_KMS_KEY_ID: workflowKeyAlias(opts.ownerActor),
      };
    },
  };
}

const KMS_REGION = 'local-1';

interface ReadyLine {
  endpoint: string;
  region: string;
  keys: { workflowKey: { arn: string }; assetKeys: Record<string, { arn: string }> };
}

/**
 * The local KMS as its own process (the cluster uses AWS KMS): keys provisioned from the
 * workflow, one credential per agent, key state sealed under a 0600 master secret.
 */
export async function startKms(opts: {
  group: ProcessGroup;
  plan: KmsPlan;
  ownerActor: string;
  workflow: Workflow;
  workflowPath: string;
  stateDir: string;
  logDir: string;
  /** Isolated pods: the KMS runs in the platform namespace, reachable by apps on its address. */
  sandbox?: MeshSandbox;
}): Promise<RunningKms> {
  const { principals } = opts.plan;
  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  const principalsFile = join(opts.stateDir, 'principals.json');
  await writeFile(principalsFile, JSON.stringify(principals), { mode: 0o600 });
  const { ready } = await opts.group.spawn({
    name: 'kms',
    entry: resolve(REPO_ROOT, 'libs/kms-local/src/main.ts'),
    env: {
      REELMESH_KMS_DATA_DIR: opts.stateDir,
      REELMESH_KMS_PRINCIPALS_FILE: principalsFile,
      REELMESH_KMS_WORKFLOW: opts.workflowPath,
      REELMESH_KMS_REGION: KMS_REGION,
      REELMESH_KMS_PORT: String(opts.plan.port),
      REELMESH_KMS_HOST: new URL(opts.plan.endpoint).hostname,
      REELMESH_KMS_OWNER_ACTOR: opts.ownerActor,
      REELMESH_KMS_PLATFORM_AGENTS: opts.plan.platformAgents.map((a) => `${a.name}:${a.actor}`).join(','),
    },
    logFile: join(opts.logDir, 'kms.log'),
    readyOn: 'stdout',
    // Stopped after the pods (and the ledger) have sealed their last objects.
    stopPhase: 2,
    wrap: opts.sandbox?.command('platform', 'root'),
  });
  const info = ready as unknown as ReadyLine;
  // Apps seal their volumes with KMS data keys: the one hole in their egress lock.
  if (opts.sandbox) await opts.sandbox.allowAppEgress(opts.sandbox.platformAddress, Number(new URL(info.endpoint).port));
  const actorOf = new Map(opts.workflow.agents.map((a) => [a.name, a.actor]));
  return {
    endpoint: info.endpoint,
    envFor(agent) {
      const actor = actorOf.get(agent)!;
      const asset = info.keys.assetKeys[actor];
      return {
        ...opts.plan.platformEnv(agent),
        REELMESH_KMS_ENDPOINT: info.endpoint,
        REELMESH_KMS_REGION: info.region,
        // Keys this agent trusts in envelope headers: the owner's workflow key and its actor's asset key.
        REELMESH_KMS_ALLOWED_KEY_IDS: [info.keys.workflowKey.arn, ...(asset ? [asset.arn] : [])].join(','),
        ...(asset ? { REELMESH_KMS_ASSET_KEY_ID: assetKeyAlias(actor) } : {}),
      };
    },
  };
}
