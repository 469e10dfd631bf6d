import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LEDGER_AGENT } from '@reelmesh/provenance';
import { buildGraph, DEFAULT_WORKFLOW_PATH, loadWorkflow, type Workflow } from '@reelmesh/workflow';
import { startSandbox, type Isolation, type PodSandbox } from './isolation';
import { planKms, startKms, type RunningKms } from './kms';
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
  meshOptions?: Pick<MeshOptions, 'svidTtlSeconds' | 'policyUrl' | 'withoutPolicy' | 'policyData' | 'policyTimeoutMs' | 'audit' | 'policyKeyPem'>;
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
  /**
   * 'netns' (Linux, root): every pod in its own network namespace behind an egress lock, see
   * docs/isolation.md. Default: REELMESH_ISOLATION, else 'none' (processes on loopback).
   */
  isolation?: Isolation;
}

export interface RunningAgent {
  agent: string;
  app: string;
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  logFile: string;
  /** The pod's sidecars, in mesh mode. (Isolated: url, port and pod.outboundPort are host port-forwards.) */
  pod?: MeshPod;
  /** Isolated mode: the pod's namespace, address and in-namespace ports. */
  netns?: { ns: string; address: string; appPort: number; inboundPort: number; outboundPort: number };
}

export interface LocalRuntime {
  workflow: Workflow;
  agents: Record<string, RunningAgent>;
  group: ProcessGroup;
  kms?: RunningKms;
  controlPlane?: ControlPlane;
  /** Isolated mode: the namespaces, bridge and egress rules of this run. */
  sandbox?: PodSandbox;
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
  let sandbox: PodSandbox | undefined;
  const isolation = options.isolation ?? (process.env.REELMESH_ISOLATION === 'netns' ? 'netns' : 'none');
  try {
    if (isolation === 'netns') {
      if (options.mesh === false) throw new Error('isolation netns needs the mesh (pods with sidecars)');
      sandbox = await startSandbox({ group, pods: workflow.agents.map((a) => a.name), logDir });
      await sandbox.grantTraverse(options.ingestDir);
    }
    const ownerActor = ownerActorOf(workflow);
    // The KMS address and the audit ledger's credentials are fixed first, so the KMS and the
    // control plane (which seals the ledger with them) start at the same time.
    const kmsPlan =
      options.encryption !== false
        ? planKms({
            workflow,
            port: (await freePorts(1))[0],
            host: sandbox ? sandbox.platformAddress : '127.0.0.1',
            ownerActor,
            platformAgents: [{ name: LEDGER_AGENT, actor: ownerActor }],
          })
        : undefined;
    const meshOpts: MeshOptions = {
      group, workflow, stateDir: join(stateDir, 'mesh'), logDir, ...options.meshOptions, sandbox,
      audit: options.meshOptions?.audit ?? { dir: join(stateDir, 'audit'), ownerActor, env: kmsPlan?.platformEnv(LEDGER_AGENT) },
    };
    [kms, controlPlane] = await Promise.all([
      kmsPlan ? startKms({ group, plan: kmsPlan, ownerActor, workflow, workflowPath, stateDir: join(stateDir, 'kms'), logDir, sandbox }) : undefined,
      options.mesh !== false ? startControlPlaneProcess(meshOpts) : undefined,
    ]);
    await Promise.all(
      workflow.agents.map(async (agent, i) => {
        const startApp = async (pod: MeshPod | undefined) => {
          const port = pod ? pod.appPort : ports[i];
          const dataDir = join(dataRoot, agent.name);
          await mkdir(dataDir, { recursive: true });
          if (sandbox) {
            await sandbox.giveDir(dataDir, 'app');
            if (agent.app === 'owner') await sandbox.giveDir(resolve(options.exportDir), 'app');
          }
          const logFile = join(logDir, `${agent.name}.log`);
          const env: Record<string, string> = {
            ...options.env,
            REELMESH_AGENT: agent.name,
            REELMESH_DATA_DIR: dataDir,
            HOST: '127.0.0.1',
            PORT: String(port),
            ...(pod ? { REELMESH_OUTBOUND_PROXY: `http://127.0.0.1:${pod.outboundPort}` } : { REELMESH_PEERS: JSON.stringify(peers) }),
            // The app's own workload identity (its SVID from the control plane) signs provenance.
            ...(pod?.appEnv ?? {}),
            REELMESH_CONCURRENCY: String(options.concurrency?.[agent.name] ?? (agent.name === 'owner' ? 2 : 1)),
            LOG_LEVEL: options.logLevel ?? 'info',
            REELMESH_WORKFLOW: workflowPath,
            ...(kms ? kms.envFor(agent.name) : {}),
            ...(agent.app === 'owner' ? { REELMESH_EXPORT_DIR: resolve(options.exportDir), REELMESH_INGEST_DIR: resolve(options.ingestDir) } : {}),
          };
          const { process } = await group.spawn({ name: agent.name, entry: appMain(agent.app), env, logFile, wrap: sandbox?.command(agent.name, 'app') });
          return { agent: agent.name, app: agent.app, url: `http://127.0.0.1:${port}`, port, pid: process.child.pid!, dataDir, logFile, pod };
        };
        let running: RunningAgent | undefined;
        // In the mesh the app starts together with its two sidecars: one pod, three containers.
        const pod = controlPlane
          ? await startPodSidecars({ ...meshOpts, cp: controlPlane, actor: agent.actor, agent: agent.name, alongside: async (p) => void (running = await startApp(p)) })
          : undefined;
        running ??= await startApp(undefined);
        agents[agent.name] = sandbox && pod ? await hostView(sandbox, running, pod) : running;
      }),
    );
  } catch (error) {
    await group.stop(2_000);
    throw error;
  }
  return { workflow, agents, group, kms, controlPlane, sandbox, stop: (graceMs) => group.stop(graceMs) };
}

/** An isolated pod as this process sees it: its app and outbound ports through port-forwards. */
async function hostView(sandbox: PodSandbox, agent: RunningAgent, pod: MeshPod): Promise<RunningAgent> {
  const [appUrl, outboundUrl] = await sandbox.forward(agent.agent, [agent.port, pod.outboundPort]);
  const netns = {
    ns: sandbox.network.pods[agent.agent].ns,
    address: sandbox.podAddress(agent.agent),
    appPort: agent.port,
    inboundPort: pod.inboundPort,
    outboundPort: pod.outboundPort,
  };
  const port = Number(new URL(appUrl).port);
  return { ...agent, url: appUrl, port, pod: { ...pod, outboundPort: Number(new URL(outboundUrl).port) }, netns };
}

/** The owner is the actor whose agent runs the workflow's source step. */
export function ownerActorOf(workflow: Workflow): string {
  const graph = buildGraph(workflow);
  const agent = graph.agentOf(graph.sourceSteps[0]);
  return workflow.agents.find((a) => a.name === agent)!.actor;
}
