// The OPA-Envoy sidecar's config: the same in every pod and in Compose. The decision path mirrors
// the Rego package (reelmesh.authz) and rule (allow); decisions are logged to stdout.
import { OPA_DECISION_PATH, OPA_GRPC_PORT } from './settings';
import { OWNER_BUNDLE_KEY_ID } from '@reelmesh/provenance';

export function opaConfig(): object {
  return {
    plugins: {
      envoy_ext_authz_grpc: {
        // The pod's loopback only: its own Envoy (Compose) or istio-proxy (the ServiceEntry
        // opa-ext-authz.local -> 127.0.0.1) asks it; no other pod can query this OPA.
        addr: `127.0.0.1:${OPA_GRPC_PORT}`,
        path: OPA_DECISION_PATH,
        'enable-reflection': false,
      },
    },
    decision_logs: { console: true },
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
