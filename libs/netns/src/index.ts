// @reelmesh/netns: isolated pods on Linux — a bridge, one network namespace per pod (lo + veth),
// an egress lock per pod by socket owner, port-forwards for the host, captures, crash cleanup.
export { createPodNetwork, type PodNetwork, type PodNetworkOptions, type NetnsEndpoint } from './network';
export { cleanupStale, destroyRun, listRunObjects, type Leftovers } from './cleanup';
export { DEFAULT_IDENTITIES, nsCommand, type PodIdentities, type PodRole } from './identity';
export { egressRules, egressDenials, EGRESS_CHAIN, type EgressDenials } from './egress';
export { hostForward, podForward, type HostForward } from './forward';
export { captureInterface, type RunningCapture } from './tcpdump';
export { isolationSupport, assertIsolationSupport, type IsolationSupport } from './preflight';
export { readLedgers, runDir, STATE_DIR, type Ledger } from './ledger';
export { runNames, NAME_PREFIX, type RunNames } from './names';
export { sh, shIn } from './exec';
