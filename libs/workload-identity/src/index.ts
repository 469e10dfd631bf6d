// @reelmesh/workload-identity: where a workload's identity comes from — the one control-plane
// client and the one SVID source (renewed at half-life) that the proxy, the agents and the ledger use.
export { ControlPlaneClient, type ControlPlaneClientOptions, type RegistryEntry } from './control-plane-client';
export { SvidSource, type SvidFetcher, type SvidSourceOptions } from './svid-source';
export { svidFromJson, type Svid, type SvidIssuer } from './svid';
