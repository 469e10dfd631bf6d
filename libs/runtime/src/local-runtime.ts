import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentEnvironment, literalEnvironment, POD_TOKEN_HEADER } from '@reelmesh/agent-kit';
import { AGENT_NODE_FLAGS } from '@reelmesh/deploy';
import { mediaToolsEnv } from '@reelmesh/media';
import { localAgentPlatform } from './agent-platform';
import { LEDGER_AGENT } from '@reelmesh/provenance';
import { DEFAULT_WORKFLOW_PATH, loadWorkflow, ownerOf, type Workflow } from '@reelmesh/workflow';
import { startSandbox, type Isolation, type PodSandbox } from './isolation';
import { startKms, type RunningKms } from './kms';
import { planPod, startControlPlaneProcess, startPod, type ControlPlane, type MeshOptions, type MeshPod } from './mesh';
import { ProcessGroup, type ManagedProcess } from './process-group';
import { agentProgram, assertWorkflowImplemented, REPO_ROOT } from './repo';

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
  /** Per-agent job concurrency (default: 2 for the owner, 1 for contractors). */
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
  /**
   * Start the pods one after another rather than all at once (the start-up study: each pod's
   * start-up on a node that is starting nothing else, as the paper measured it). Default false.
   */
  podsOneByOne?: boolean;
}

export interface RunningAgent {
  agent: string;
  app: string;
  /** The app's endpoint as this process reaches it: a Unix socket, or a port-forward for isolated pods. */
  url: string;
  /**
   * What every request of this process to the app (or through the pod's outbound listener) must
   * carry: the pod's token in mesh mode (the app refuses anything else but GET /health); none without.
   */
  headers: Record<string, string>;
  /** The app's pid now (a getter: a restarted app has a new one). */
  readonly pid: number;
  dataDir: string;
  logFile: string;
  /** The pod's sidecars, in mesh mode. (Isolated: pod.outboundUrl is a host port-forward.) */
  pod?: MeshPod;
  /** Isolated mode: the pod's namespace, address and in-namespace ports. */
  netns?: { ns: string; address: string; appPort: number; inboundPort: number; outboundPort: number };
}

export interface LocalRuntime {
  workflow: Workflow;
  agents: Record<string, RunningAgent>;
  /**
   * Every process of the run, supervised: listen for 'restarting', 'restarted' and 'crashloop'
   * (a process the group gave up on: the run cannot go on), read restarts() for the counts.
   */
  group: ProcessGroup;
  kms?: RunningKms;
  controlPlane?: ControlPlane;
  /** Isolated mode: the namespaces, bridge and egress rules of this run. */
  sandbox?: PodSandbox;
  stop(graceMs?: number): Promise<void>;
}

/** The folders of a run kept in one place: volumes, platform state, the deliverable, the masters. */
export function runFolders(dir: string): Pick<LocalRuntimeOptions, 'dataRoot' | 'stateDir' | 'exportDir' | 'ingestDir'> {
  return { dataRoot: join(dir, 'data'), stateDir: join(dir, 'state'), exportDir: join(dir, 'out'), ingestDir: join(dir, 'in') };
}

/** `none` or `netns`, as typed on a command line; anything else is a clear error. */
export function parseIsolation(value: string): Isolation {
  if (value !== 'none' && value !== 'netns') throw new Error(`--isolation must be none or netns, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * The embedded default platform: the local KMS, the control plane, then every agent of the
 * workflow as a pod of processes on loopback, each with its own volume under dataRoot. Nothing
 * guesses a port: services bind port 0 or a Unix socket and the runtime wires what they report.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const workflowPath = resolve(options.workflowPath ?? DEFAULT_WORKFLOW_PATH);
  const workflow = loadWorkflow(workflowPath);
  assertWorkflowImplemented(workflow);
  const owner = ownerOf(workflow);
  const dataRoot = resolve(options.dataRoot);
  const stateDir = resolve(options.stateDir);
  const logDir = join(stateDir, 'logs');
  await mkdir(logDir, { recursive: true });
  await mkdir(dataRoot, { recursive: true });
  const group = options.group ?? new ProcessGroup();
  const agents: Record<string, RunningAgent> = {};
  let kms: RunningKms | undefined;
  let controlPlane: ControlPlane | undefined;
  let sandbox: PodSandbox | undefined;
  const isolation = options.isolation ?? (process.env.REELMESH_ISOLATION === 'netns' ? 'netns' : 'none');
  const mesh = options.mesh !== false;
  try {
    // The pods' meeting points on a shared loopback: a private folder of Unix sockets, short
    // enough for a socket path wherever the run's own folders are.
    const socketDir = await mkdtemp(join(tmpdir(), 'rm-pods-'));
    group.onStopped(() => rm(socketDir, { recursive: true, force: true }));
    if (isolation === 'netns') {
      if (!mesh) throw new Error('isolation netns needs the mesh (pods with sidecars)');
      sandbox = await startSandbox({ group, pods: workflow.agents.map((a) => a.name), logDir });
      // Pod processes run under their own uids: they must reach the code and the master.
      await sandbox.grantTraverse(REPO_ROOT);
      await sandbox.grantTraverse(options.ingestDir);
    }
    if (options.encryption !== false) {
      kms = await startKms({
        group, workflow, workflowPath, ownerActor: owner.actor, stateDir: join(stateDir, 'kms'), logDir, sandbox,
        platformAgents: [{ name: LEDGER_AGENT, actor: owner.actor }],
      });
    }
    const meshOpts: MeshOptions = {
      group, workflow, stateDir: join(stateDir, 'mesh'), logDir, ...options.meshOptions, sandbox,
      // The ledger seals with its own KMS principal; without encryption it is the plaintext baseline.
      audit: options.meshOptions?.audit ?? { dir: join(stateDir, 'audit'), ownerActor: owner.actor, env: kms?.platformEnv(LEDGER_AGENT) },
    };
    if (mesh) controlPlane = await startControlPlaneProcess(meshOpts);
    const appUrls = Object.fromEntries(workflow.agents.map((a) => [a.name, planPod(a.name, { socketDir }).appUrl]));

    const startAgent = async (agent: Workflow['agents'][number]) => {
      const dataDir = join(dataRoot, agent.name);
      const logFile = join(logDir, `${agent.name}.log`);
      if (!sandbox) await mkdir(join(socketDir, agent.name), { recursive: true, mode: 0o700 });
      await mkdir(dataDir, { recursive: true });
      if (sandbox) {
        await sandbox.giveDir(dataDir, 'app');
        if (agent.name === owner.agent) await sandbox.giveDir(resolve(options.exportDir), 'app');
      }
      const plan = planPod(agent.name, sandbox ? { sandbox } : { socketDir });
      let app: ManagedProcess | undefined;
      const startApp = async (pod?: MeshPod) => {
        const platform = localAgentPlatform({
          workflowPath,
          dataDir,
          listen: plan.appListen,
          pod,
          peers: appUrls,
          ingestDir: resolve(options.ingestDir),
          exportDir: resolve(options.exportDir),
          kms: kms?.settingsFor(agent.name),
          concurrency: options.concurrency?.[agent.name],
          logLevel: options.logLevel,
        });
        // The run's choice of ffmpeg, made once here rather than by every agent at its start.
        const env = { ...mediaToolsEnv(), ...options.env, ...literalEnvironment(agentEnvironment(workflow, agent.name, platform)) };
        // A restart keeps this environment: the same pod token, bootstrap token and volume.
        ({ process: app } = await group.spawn({ name: agent.name, entry: agentProgram(agent.app).main, nodeFlags: AGENT_NODE_FLAGS, env, logFile, wrap: sandbox?.command(agent.name, 'app') }));
      };
      // In the mesh the app starts together with its two sidecars: one pod, three containers.
      const pod = controlPlane ? await startPod({ ...meshOpts, cp: controlPlane, actor: agent.actor, agent: agent.name, plan, app: startApp }) : undefined;
      if (!pod) await startApp();
      const headers: Record<string, string> = pod ? { [POD_TOKEN_HEADER]: pod.podToken } : {};
      const view = sandbox && pod ? await hostView(sandbox, agent.name, pod) : { url: plan.appUrl, pod };
      agents[agent.name] = {
        agent: agent.name, app: agent.app, headers, dataDir, logFile, ...view,
        // The app's current incarnation: a restart changes it.
        get pid() {
          return app!.child.pid ?? 0;
        },
      };
    };
    if (options.podsOneByOne) for (const agent of workflow.agents) await startAgent(agent);
    else await Promise.all(workflow.agents.map(startAgent));
  } catch (error) {
    await group.stop(2_000);
    throw error;
  }
  return { workflow, agents, group, kms, controlPlane, sandbox, stop: (graceMs) => group.stop(graceMs) };
}

/** An isolated pod as this process sees it: its app and outbound listener through port-forwards. */
async function hostView(sandbox: PodSandbox, agent: string, pod: MeshPod): Promise<Pick<RunningAgent, 'url' | 'pod' | 'netns'>> {
  const appPort = Number(new URL(pod.appUrl).port);
  const outboundPort = Number(new URL(pod.outboundUrl).port);
  const [appUrl, outboundUrl] = await sandbox.forward(agent, [appPort, outboundPort]);
  const netns = { ns: sandbox.network.pods[agent].ns, address: sandbox.podAddress(agent), appPort, inboundPort: pod.inboundPort, outboundPort };
  return { url: appUrl, pod: { ...pod, outboundUrl }, netns };
}
