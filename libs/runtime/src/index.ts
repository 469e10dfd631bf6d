export { ownerActorOf, startLocalRuntime, type LocalRuntime, type LocalRuntimeOptions, type RunningAgent } from './local-runtime';
export type { Isolation, PodSandbox } from './isolation';
export { POLICY_DATA, startControlPlaneProcess, startPodSidecars, type ControlPlane, type MeshOptions, type MeshSandbox, type MeshPod } from './mesh';
export { ProcessGroup, type ManagedProcess, type SpawnSpec } from './process-group';
export { freePort, freePorts } from './ports';
export { REPO_ROOT, appMain } from './repo';
export { benchIsolation, type IsolationBenchReport, type IsolationLatency } from './isolation-bench';
