// `reelmesh verify --target compose|kube`: the access matrix against a running deployment. Every
// (source, destination, method, path) is attempted from inside the source pod (its app container,
// so through its own sidecar with its own identity), one exec per source pod, and compared with the
// matrix exactly as the local verify compares (same rows, same report, same exit status).
import { spawn } from 'node:child_process';
import { POD_PORTS } from '@reelmesh/addressing';
import { AGENT_CONTAINER, APP_PORT, podServices, serviceHost, topologyOf, type Topology } from '@reelmesh/deploy';
import { accessMatrix, isAllowed, type Workflow } from '@reelmesh/workflow';
import { candidatePaths, METHODS, type VerifyRow } from '../../verify-matrix';
import { classifyAnswer, type RemoteTarget } from './denials';
import { inPodScript, type InPodLine, type InPodPlan } from './in-pod-script';

export interface TargetOptions {
  target: RemoteTarget;
  /** kubectl --context (kube only). */
  context?: string;
  /** Namespace overrides, agent -> namespace (kube only; default: the agent's actor). */
  namespaces?: Readonly<Record<string, string>>;
  /** docker compose -f (compose only; default: docker-compose.yml in the current folder). */
  composeFile?: string;
  /** Progress lines (stderr). */
  progress?: (line: string) => void;
}

/** The app container of an agent's Compose pod. */
export const composeAppService = (agent: string) => podServices(agent).app;
/** The app container of an agent's Deployment. */
export const KUBE_APP_CONTAINER = AGENT_CONTAINER;

/** The namespace of every agent on this target. */
export function namespacesOf(topology: Topology, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  for (const agent of Object.keys(overrides)) topology.agent(agent); // throws on an unknown agent
  return Object.fromEntries(topology.agents.map((a) => [a.name, overrides[a.name] ?? a.namespace]));
}

/** What one source pod runs: where each destination is reached from inside it. */
export function planFor(workflow: Workflow, opts: TargetOptions): InPodPlan {
  const topology = topologyOf(workflow);
  const ns = namespacesOf(topology, opts.namespaces);
  const targets = topology.agents.map((a) =>
    opts.target === 'compose'
      ? // The app's own way out (REELMESH_OUTBOUND_PROXY): the pod Envoy's outbound listener, Host = the agent.
        { destination: a.name, hostname: '127.0.0.1', port: POD_PORTS.outbound, host: a.name }
      : // The destination's Service; istio-proxy in the source pod intercepts the connection.
        { destination: a.name, hostname: serviceHost(a.name, ns[a.name]), port: APP_PORT, host: `${serviceHost(a.name, ns[a.name])}:${APP_PORT}` },
  );
  return { targets, methods: METHODS, paths: candidatePaths(workflow) };
}

/** The exec command that runs `script` in `source`'s app container. */
export function execCommand(source: string, script: string, opts: TargetOptions, namespace: string): { file: string; args: string[] } {
  if (opts.target === 'compose') {
    return { file: 'docker', args: ['compose', ...(opts.composeFile ? ['-f', opts.composeFile] : []), 'exec', '-T', composeAppService(source), 'node', '-e', script] };
  }
  return {
    file: 'kubectl',
    args: [...(opts.context ? ['--context', opts.context] : []), '-n', namespace, 'exec', `deploy/${source}`, '-c', KUBE_APP_CONTAINER, '--', 'node', '-e', script],
  };
}

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? `${file} not found on PATH (needed for --target)` : `${file}: ${error.message}`)),
    );
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The lines a pod printed: one per (destination, method, path) of the plan, no more, no fewer. */
export function parsePodOutput(source: string, stdout: string, plan: InPodPlan): Map<string, InPodLine> {
  const answers = new Map<string, InPodLine>();
  for (const text of stdout.split('\n')) {
    if (!text.startsWith('{')) continue; // anything else the container printed
    const line = JSON.parse(text) as InPodLine;
    const key = `${line.destination} ${line.method} ${line.path}`;
    if (answers.has(key)) throw new Error(`${source}: two answers for ${key}`);
    answers.set(key, line);
  }
  const expected = plan.targets.length * plan.methods.length * plan.paths.length;
  if (answers.size !== expected) throw new Error(`${source}: ${answers.size} of ${expected} calls reported; the in-pod run did not finish`);
  return answers;
}

/** Every row of the matrix, attempted from inside each source pod on the target. */
export async function verifyTarget(workflow: Workflow, opts: TargetOptions): Promise<VerifyRow[]> {
  const matrix = accessMatrix(workflow);
  const topology = topologyOf(workflow);
  const ns = namespacesOf(topology, opts.namespaces);
  const plan = planFor(workflow, opts);
  const script = inPodScript(plan);
  const rows: VerifyRow[] = [];
  for (const { name: source } of topology.agents) {
    const { file, args } = execCommand(source, script, opts, ns[source]);
    opts.progress?.(`${opts.target}: ${source}: ${plan.targets.length * plan.methods.length * plan.paths.length} calls from inside the pod`);
    const result = await run(file, args);
    if (result.code !== 0) throw new Error(`${source}: ${file} ${args.slice(0, args.indexOf('-e')).join(' ')} exited ${result.code}: ${result.stderr.trim().split('\n')[0] ?? ''}`);
    const answers = parsePodOutput(source, result.stdout, plan);
    for (const { destination } of plan.targets)
      for (const method of plan.methods)
        for (const path of plan.paths) {
          const answer = answers.get(`${destination} ${method} ${path}`);
          if (!answer) throw new Error(`${source}: no answer for ${destination} ${method} ${path}`);
          const expected = isAllowed(matrix, source, destination, method, path) ? 'allow' : 'deny';
          const { actual, code } = classifyAnswer(opts.target, answer);
          // An unrecognised answer proves neither: it counts against whatever the matrix expects.
          const counted = actual === 'unrecognised' ? (expected === 'allow' ? 'deny' : 'allow') : actual;
          rows.push({ source, destination, method, path, expected, actual: counted, status: answer.status, ...(code === undefined ? {} : { code }) });
        }
  }
  return rows;
}
