import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_WORKFLOW_PATH, loadWorkflow, type Workflow } from '@reelmesh/workflow';
import { startKms, type RunningKms } from './kms';
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
  /** Owner: where the deliverable is exported. */
  exportDir: string;
  /** Owner: the folder masters may be read from. */
  ingestDir: string;
  /** Per-agent job concurrency (default: 1, the owner 2). */
  concurrency?: Record<string, number>;
  logLevel?: string;
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
}

export interface LocalRuntime {
  workflow: Workflow;
  agents: Record<string, RunningAgent>;
  group: ProcessGroup;
  kms?: RunningKms;
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
  const group = new ProcessGroup();
  const agents: Record<string, RunningAgent> = {};
  let kms: RunningKms | undefined;
  try {
    if (options.encryption !== false) {
      kms = await startKms({ group, workflow, workflowPath, stateDir: join(stateDir, 'kms'), logDir });
    }
    await Promise.all(
      workflow.agents.map(async (agent, i) => {
        const dataDir = join(dataRoot, agent.name);
        await mkdir(dataDir, { recursive: true });
        const logFile = join(logDir, `${agent.name}.log`);
        const env: Record<string, string> = {
          ...options.env,
          REELMESH_AGENT: agent.name,
          REELMESH_DATA_DIR: dataDir,
          HOST: '127.0.0.1',
          PORT: String(ports[i]),
          REELMESH_PEERS: JSON.stringify(peers),
          REELMESH_CONCURRENCY: String(options.concurrency?.[agent.name] ?? (agent.name === 'owner' ? 2 : 1)),
          LOG_LEVEL: options.logLevel ?? 'info',
          REELMESH_WORKFLOW: workflowPath,
          ...(kms ? kms.envFor(agent.name) : {}),
          ...(agent.app === 'owner' ? { REELMESH_EXPORT_DIR: resolve(options.exportDir), REELMESH_INGEST_DIR: resolve(options.ingestDir) } : {}),
        };
        const { process } = await group.spawn({ name: agent.name, entry: appMain(agent.app), env, logFile });
        agents[agent.name] = { agent: agent.name, app: agent.app, url: peers[agent.name], port: ports[i], pid: process.child.pid!, dataDir, logFile };
      }),
    );
  } catch (error) {
    await group.stop(2_000);
    throw error;
  }
  return { workflow, agents, group, kms, stop: (graceMs) => group.stop(graceMs) };
}
