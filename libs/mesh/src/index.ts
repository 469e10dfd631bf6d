// @reelmesh/mesh: the local stand-in for Istio's control plane and Envoy sidecars (the logic; the
// processes are apps/control-plane and apps/proxy-sidecar).
export { createCa, DEFAULT_SVID_TTL_SECONDS, type Ca, type CreateCaOptions, type IssueRequest, type Svid } from './ca/ca';
export { MemoryRegistry, type Registry, type RegistryEntry } from './control-plane/registry';
export { ControlPlaneRegistry } from './control-plane/cached-registry';
export { startControlPlane, type ControlPlane, type ControlPlaneOptions, type Workload } from './control-plane/server';
export { STATE_FILE, StateFileError } from './control-plane/state';
export { startProxy, type ProxyOptions, type RunningProxy } from './proxy/proxy';
export { PEER_HEADER } from './proxy/headers';
export { buildOpaInput, type OpaInput } from './proxy/opa-input';
export { createPolicyClient, type PolicyClient, type PolicyDecision } from './proxy/policy-client';
export type { AccessLogEntry } from './proxy/access-log';
export { benchProxy, type BenchOptions, type BenchReport, type BenchMode, type LatencyResult, type ThroughputResult } from './bench/bench-proxy';
