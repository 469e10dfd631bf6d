// The OPA-Envoy sidecar's config: the same in every pod and in Compose. The decision path mirrors
// the Rego package (reelmesh.authz) and rule (allow). With the owner's ledger, every decision is
// uploaded there, masked first by data.system.log.mask (policies/reelmesh/system/log.rego, in the
// owner's signed bundle); without it, decisions go to stdout only.
import { OPA_DECISION_PATH, OPA_GRPC_PORT } from './settings';
import { OWNER_BUNDLE_KEY_ID } from '@reelmesh/provenance';

/** The Rego rule OPA evaluates on every decision-log event for the JSON pointers to erase (OPA's default path, named explicitly). */
export const OPA_MASK_DECISION = '/system/log/mask';
/** The `services` entry of the owner's ledger (the control plane), where decision_logs uploads. */
export const OPA_LEDGER_SERVICE = 'ledger';
/**
 * Decisions OPA holds while the ledger is unreachable. OPA cannot fail closed on a log outage: past
 * this it drops the oldest events (its decision_logs_dropped_buffer_size_limit_exceeded counter),
 * where an unbounded buffer would end in the pod being OOM-killed with every event lost.
 */
export const OPA_LOG_BUFFER_BYTES = 64 * 1024 * 1024;

export interface OpaConfigOptions {
  /**
   * The owner's audit ledger as the pod reaches it (Compose: the pod Envoy's control-plane egress
   * listener; Kubernetes: the control plane's Service); OPA POSTs gzip'd JSON arrays of events to
   * `<ledgerUrl>/logs` (decision_logs.resource defaults to /logs) without credentials: the
   * control plane (--mesh-identity) knows the pod by the identity its sidecar verified.
   */
  ledgerUrl?: string;
}

export function opaConfig(options: OpaConfigOptions = {}): object {
  return {
    ...(options.ledgerUrl ? { services: { [OPA_LEDGER_SERVICE]: { url: options.ledgerUrl } } } : {}),
    plugins: {
      envoy_ext_authz_grpc: {
        // The pod's loopback only: its own Envoy (Compose) or istio-proxy (the ServiceEntry
        // opa-ext-authz.local -> 127.0.0.1) asks it; no other pod can query this OPA.
        addr: `127.0.0.1:${OPA_GRPC_PORT}`,
        path: OPA_DECISION_PATH,
        'enable-reflection': false,
      },
    },
    decision_logs: options.ledgerUrl
      ? {
          service: OPA_LEDGER_SERVICE,
          // Uploads every 1-5 s (OPA's defaults are 300-600 s): the ledger is the audit record.
          reporting: { min_delay_seconds: 1, max_delay_seconds: 5, buffer_size_limit_bytes: OPA_LOG_BUFFER_BYTES },
          mask_decision: OPA_MASK_DECISION,
          // Off: the ledger keeps the record (sealed, hash-chained); a second copy of every request's
          // input in the container log would outlive it unsealed. OPA's own errors still go to stderr.
          console: false,
        }
      : { console: true },
  };
}

/**
 * The start of every OPA sidecar's command line (Compose and Kubernetes): the server, and no call
 * home (OPA otherwise asks telemetry.openpolicyagent.org for the latest version at start-up).
 */
export const OPA_RUN = ['run', '--server', '--skip-version-check'];

/** The owner's bundle-signing key id: the JWT's keyid must be this (explicit, as OPA >= 1.21.3 advises). */

/**
 * `opa run` arguments that load the owner's signed bundle and nothing else: OPA verifies the
 * .signatures.json JWT (ES256, key id `owner`) against the owner's public key and every file's
 * hash before activating it, exactly what our sidecars and policy store check.
 */
export function opaSignedBundleArgs(bundleDir: string, keyDir: string): string[] {
  return [
    `--verification-key=${keyDir}/owner-bundle.pub.pem`,
    `--verification-key-id=${OWNER_BUNDLE_KEY_ID}`,
    '--signing-alg=ES256',
    '--bundle',
    `${bundleDir}/reelmesh.tar.gz`,
  ];
}
