// @reelmesh/workload-identity: where a workload's identity comes from — the one control-plane
// client and the one SVID source (renewed at half-life) that the proxy, the agents and the ledger use
// — and what a certificate must be to stand for one (the X.509-SVID profile every reader checks).
export { CONTROL_PLANE_STARTUP_WAIT_MS, ControlPlaneClient, whileUnreachable, type ControlPlaneClientOptions, type RegistryEntry } from './control-plane-client';
export { SvidSource, type SvidFetcher, type SvidSourceOptions } from './svid-source';
export { svidFromJson, type Svid, type SvidIssuer } from './svid';
export {
  checkSvid,
  KEY_PURPOSE,
  parseTrustBundle,
  splitPem,
  SvidProfileError,
  type CertificateInput,
  type CheckedSvid,
  type SvidCheck,
  type SvidRule,
  type SvidUse,
} from './svid-profile';
export { svidLeafExtensions, svidRootExtensions } from './svid-extensions';
