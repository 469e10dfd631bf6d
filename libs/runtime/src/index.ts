export { parseIsolation, runFolders, startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions, type RunningAgent } from './local-runtime';
export type { Isolation, PodSandbox } from './isolation';
export { localAgentPlatform, type LocalAgentPlatformInput } from './agent-platform';
export { POLICY_DATA, POLICY_DIR, planPod, startControlPlaneProcess, startPod, type ControlPlane, type MeshOptions, type MeshSandbox, type MeshPod, type PodPlan } from './mesh';
export {
  bindAgain,
  listenAgain,
  ProcessGroup,
  type CrashLoopEvent,
  type ExitStatus,
  type ManagedProcess,
  type ProcessGroupEvents,
  type ProcessState,
  type RestartedEvent,
  type RestartingEvent,
  type SpawnSpec,
  type SpawningEvent,
  type StartedEvent,
  type SupervisionOptions,
} from './process-group';
export { REPO_ROOT, agentProgram, assertWorkflowImplemented } from './repo';
export { programArgs, programBundles, programsOf, runFrom, type RunFrom } from './bundles';
