/**
 * The ports inside a pod that has a network of its own (an isolated local pod, a Compose pod, a
 * Kubernetes pod): fixed, like a Kubernetes containerPort, because nothing else shares that
 * network. Pods on a shared loopback never use them: there every service binds port 0 or a Unix
 * socket and reports what it got.
 */
export const POD_PORTS = Object.freeze({
  /** The agent app. */
  app: 8080,
  /** The policy sidecar's OPA REST API. */
  policy: 8181,
  /** The policy sidecar's check socket, on the pod's loopback (its proxy asks there; local runtime only). */
  policyCheck: 8182,
  /** The proxy's outbound listener (the app's way out). */
  outbound: 15001,
  /** The proxy's inbound mTLS listener (the pod's way in). */
  inbound: 15443,
});
