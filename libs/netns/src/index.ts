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
import { fileURLToPath } from 'node:url';
/** Entry of the pod-side port-forwarder process (run with tsx, as root, inside a pod namespace). */
export const FORWARDER_MAIN = fileURLToPath(new URL('./forwarder-main.ts', import.meta.url));
/** Entry of the latency probe (sequential 1 KB POSTs through a pod's outbound listener). */
export const LATENCY_PROBE_MAIN = fileURLToPath(new URL('./latency-probe-main.ts', import.meta.url));
