// Install-time mesh configuration (istioctl install -f): the workflow's trust domain, registry-only
// egress and the extension provider that sends CUSTOM authorization to the in-pod OPA, failing closed.
import { EXT_AUTHZ_HOST, EXT_AUTHZ_PROVIDER, EXT_AUTHZ_TIMEOUT, OPA_GRPC_PORT, PATH_NORMALIZATION } from '../settings';
import type { Topology } from '../topology';
import { POLICY_STATUS } from '@reelmesh/addressing';

export function istioOperator(topology: Topology): object {
  return {
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    metadata: { name: 'reelmesh', namespace: 'istio-system' },
    spec: {
      profile: 'default',
      meshConfig: {
        // Principals become <trustDomain>/ns/<actor>/sa/<agent>: the workflow's SPIFFE ids.
        trustDomain: topology.workflow.metadata.trustDomain,
        outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
        // How istio-proxy normalises a request path before authorization policies and ext_authz see
        // it and before it is forwarded: %2F/%5C decoded, RFC 3986 dot segments removed, slashes
        // merged (MeshConfig.ProxyPathNormalization). The same semantics as Compose's Envoy and the
        // local proxy, so a `..` or %2F variant is judged the same everywhere.
        pathNormalization: { normalization: PATH_NORMALIZATION },
        defaultConfig: {
          holdApplicationUntilProxyStarts: true,
          // DNS proxying resolves Services of other clusters (multi-cluster overlay).
          proxyMetadata: { ISTIO_META_DNS_CAPTURE: 'true', ISTIO_META_DNS_AUTO_ALLOCATE: 'true' },
        },
        extensionProviders: [
          {
            name: EXT_AUTHZ_PROVIDER,
            envoyExtAuthzGrpc: {
              service: EXT_AUTHZ_HOST,
              port: OPA_GRPC_PORT,
              timeout: EXT_AUTHZ_TIMEOUT,
              // OPA down or slow -> 503, never allow: senders retry it (a 403 would be final),
              // as they do the local proxy's 503 and Compose's Envoy (status_on_error).
              failOpen: false,
              statusOnError: String(POLICY_STATUS.unavailable),
            },
          },
        ],
      },
      // Istio's CNI plugin sets up each pod's traffic redirection instead of the istio-init
      // container, whose NET_ADMIN and NET_RAW the namespaces' Pod Security level (baseline) refuses.
      components: { cni: { enabled: true } },
      // istio-proxy as a Kubernetes native sidecar (Kubernetes >= 1.29) in every pod: it starts
      // before and stops after the app, so a draining agent can still hand its outputs on.
      values: { pilot: { env: { ENABLE_NATIVE_SIDECARS: 'true' } } },
    },
  };
}
