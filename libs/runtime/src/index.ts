export { parseIsolation, runFolders, startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions, type RunningAgent } from './local-runtime';
export type { Isolation, PodSandbox } from './isolation';
export { POLICY_DATA, POLICY_DIR, planPod, startControlPlaneProcess, startPod, type ControlPlane, type MeshOptions, type MeshSandbox, type MeshPod, type PodPlan } from './mesh';
export { ProcessGroup, type ManagedProcess, type SpawnSpec } from './process-group';
export { REPO_ROOT, agentProgram } from './repo';
