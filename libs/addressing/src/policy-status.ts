/**
 * What a pod's proxy answers when its policy does not let a call through, on every target (the
 * local proxy, Envoy's ext_authz in Compose, Istio's CUSTOM action): a denial is final (403); a
 * policy that cannot be asked (down, slow, not loaded) is a transient 503, which senders retry.
 * Fail closed either way.
 */
export const POLICY_STATUS = Object.freeze({ denied: 403, unavailable: 503 });
