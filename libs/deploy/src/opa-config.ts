// The OPA-Envoy sidecar's config: the same in every pod and in Compose. The decision path mirrors
// the Rego package (reelmesh.authz) and rule (allow); decisions are logged to stdout.
import { OPA_DECISION_PATH, OPA_GRPC_PORT } from './settings';

export function opaConfig(): object {
  return {
    plugins: {
      envoy_ext_authz_grpc: {
        addr: `:${OPA_GRPC_PORT}`,
        path: OPA_DECISION_PATH,
        'enable-reflection': false,
      },
    },
    decision_logs: { console: true },
  };
}
