// How each target's mesh says "no": which answers mean the call never reached the destination app.
// The matrix's "allow" means the destination app received the call (whatever it then answered);
// "deny" means the caller's or the destination's sidecar answered instead. Each target answers a
// denial differently, so the comparison names each case explicitly. An app always answers with a
// JSON body `{error: {code}}` (or a success body); a sidecar's local reply never carries one, which
// is how a sidecar's 403 is told from an app's.
import { localVerdict } from '../../verify-matrix';

export const TARGETS = ['compose', 'kube'] as const;
export type RemoteTarget = (typeof TARGETS)[number];

/**
 * The sidecars' local replies per target, status -> the name the report gives it. Anything else
 * (an app's JSON answer included) reached the app: a 502 for a call the matrix allows is a failure.
 */
export const MESH_REFUSALS: Readonly<Record<RemoteTarget, Readonly<Record<number, string>>>> = {
  compose: {
    // The destination pod's Envoy: ext_authz answered by OPA with a denial (empty body).
    403: 'EXT_AUTHZ_DENIED',
    // The source pod's Envoy outbound listener routes by Host to the agent's next hops only: no route (NR).
    404: 'NO_ROUTE',
    // ext_authz `status_on_error: ServiceUnavailable`: the policy could not be asked (fail closed).
    503: 'POLICY_ERROR',
  },
  kube: {
    // istio-proxy: an AuthorizationPolicy (ALLOW/DENY "RBAC: access denied") or the CUSTOM ext_authz provider denied.
    403: 'RBAC_DENIED',
    // Sidecar egress REGISTRY_ONLY without the destination host: Istio's BlackHoleCluster answers 502.
    502: 'NO_EGRESS',
    // The ext_authz provider's `statusOnError: "503"`: the policy could not be asked (fail closed).
    503: 'POLICY_ERROR',
  },
};

/** What a call from inside a pod got: an HTTP answer (with the app's error code, if any) or none. */
export interface InPodAnswer {
  status: number;
  code?: string;
  error?: string;
}

/**
 * Whether the destination app received the call. `allow`: the app answered (its JSON error code, or
 * a 2xx); `deny`: one of the target's refusals above, or no HTTP answer at all (reset, refused,
 * timeout: the app did not answer either); `unrecognised`: anything else (say a 500 or, in Compose,
 * a 502 with no app body), which proves neither and is reported as a mismatch whatever the matrix says.
 */
export function classifyAnswer(target: RemoteTarget | 'local', answer: InPodAnswer): { actual: 'allow' | 'deny' | 'unrecognised'; code?: string } {
  if (target === 'local') return { actual: localVerdict(answer.code), code: answer.code };
  if (answer.error !== undefined) return { actual: 'deny', code: `NO_ANSWER:${answer.error}` };
  if (answer.code !== undefined) return { actual: 'allow', code: answer.code };
  const refusal = MESH_REFUSALS[target][answer.status];
  if (refusal) return { actual: 'deny', code: refusal };
  if (answer.status >= 200 && answer.status < 300) return { actual: 'allow' };
  return { actual: 'unrecognised', code: `UNRECOGNISED:${answer.status}` };
}
