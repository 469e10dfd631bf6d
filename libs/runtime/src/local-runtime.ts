import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_WORKFLOW_PATH, loadWorkflow, type Workflow } from '@reelmesh/workflow';
import { startKms, type RunningKms } from './kms';
import { startControlPlaneProcess, startPodSidecars, type ControlPlane, type MeshOptions, type MeshPod } from './mesh';
import { appMain } from './repo';
import { freePorts } from './ports';
import { ProcessGroup } from './process-group';

export interface LocalRuntimeOptions {
  workflowPath?: string;
  /** Folder holding every agent's volume (one sub-folder per agent) and nothing else. */
  dataRoot: string;
  /** Folder for the platform's own state: logs, the local KMS's key store. */
  stateDir: string;
  /** Seal every stored byte under KMS data keys (default true). Off only for baselines. */
  encryption?: boolean;
  /** Run every agent as a pod (app + proxy sidecar + policy sidecar) behind mTLS (default true). */
  mesh?: boolean;
  /** Mesh tuning: SVID lifetime, an external OPA URL, no policy sidecar (baselines). */
  meshOptions?: Pick<MeshOptions, 'svidTtlSeconds' | 'policyUrl' | 'withoutPolicy' | 'policyData' | 'policyTimeoutMs'>;
  /** Owner: where the deliverable is exported. */
  exportDir: string;
  /** Owner: the folder masters may be read from. */
  ingestDir: string;
  /** Per-agent job concurrency (default: 1, the owner 2). */
  concurrency?: Record<string, number>;
  logLevel?: string;
  /** The process group to spawn into (lets a caller stop everything even while starting up). */
  group?: ProcessGroup;
  /** Extra environment for every agent (e.g. FFMPEG threads). */
  env?: Record<string, string>;
}

export interface RunningAgent {
  agent: string;
  app: string;
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  logFile: string;
  /** The pod's sidecars, in mesh mode. */
  pod?: MeshPod;
}

export interface LocalRuntime {
  workflow: Workflow;
  agents: Record<string, RunningAgent>;
  group: ProcessGroup;
  kms?: RunningKms;
  controlPlane?: ControlPlane;
  stop(graceMs?: number): Promise<void>;
}

/**
 * The embedded default platform: every agent of the workflow as its own process on loopback,
 * each with its own volume under dataRoot. (Mesh and sealed storage plug in through env.)
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const workflowPath = resolve(options.workflowPath ?? DEFAULT_WORKFLOW_PATH);
  const workflow = loadWorkflow(workflowPath);
  const dataRoot = resolve(options.dataRoot);
  const stateDir = resolve(options.stateDir);
  const logDir = join(stateDir, 'logs');
  await mkdir(logDir, { recursive: true });
  await mkdir(dataRoot, { recursive: true });
  const ports = await freePorts(workflow.agents.length);
  const peers = Object.fromEntries(workflow.agents.map((a, i) => [a.name, `http://127.0.0.1:${ports[i]}`]));
  const group = options.group ?? new ProcessGroup();
  const agents: Record<string, RunningAgent> = {};
  let kms: RunningKms | undefined;
  let controlPlane: ControlPlane | undefined;
  try {
    const meshOpts: MeshOptions = { group, workflow, stateDir: join(stateDir, 'mesh'), logDir, ...options.meshOptions };
    [kms, controlPlane] = await Promise.all([
      options.encryption !== false ? startKms({ group, workflow, workflowPath, stateDir: join(stateDir, 'kms'), logDir }) : undefined,
      options.mesh !== false ? startControlPlaneProcess(meshOpts) : undefined,
    ]);
    await Promise.all(
      workflow.agents.map(async (agent, i) => {
        const pod = controlPlane ? await startPodSidecars({ ...meshOpts, cp: controlPlane, actor: agent.actor, agent: agent.name }) : undefined;
        const port = pod ? pod.appPort : ports[i];
        const dataDir = join(dataRoot, agent.name);
        await mkdir(dataDir, { recursive: true });
        const logFile = join(logDir, `${agent.name}.log`);
        const env: Record<string, string> = {
          ...options.env,
          REELMESH_AGENT: agent.name,
          REELMESH_DATA_DIR: dataDir,
          HOST: '127.0.0.1',
          PORT: String(port),
          ...(pod ? { REELMESH_OUTBOUND_PROXY: `http://127.0.0.1:${pod.outboundPort}` } : { REELMESH_PEERS: JSON.stringify(peers) }),
          REELMESH_CONCURRENCY: String(options.concurrency?.[agent.name] ?? (agent.name === 'owner' ? 2 : 1)),
          LOG_LEVEL: options.logLevel ?? 'info',
          REELMESH_WORKFLOW: workflowPath,
          ...(kms ? kms.envFor(agent.name) : {}),
          ...(agent.app === 'owner' ? { REELMESH_EXPORT_DIR: resolve(options.exportDir), REELMESH_INGEST_DIR: resolve(options.ingestDir) } : {}),
        };
        const { process } = await group.spawn({ name: agent.name, entry: appMain(agent.app), env, logFile });
        agents[agent.name] = { agent: agent.name, app: agent.app, url: `http://127.0.0.1:${port}`, port, pid: process.child.pid!, dataDir, logFile, pod };
      }),
    );
  } catch (error) {
    await group.stop(2_000);
    throw error;
  }
  return { workflow, agents, group, kms, controlPlane, stop: (graceMs) => group.stop(graceMs) };
}
