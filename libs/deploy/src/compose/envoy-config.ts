// Envoy bootstrap for one Compose pod: the same job the Istio sidecar does in a cluster.
// Inbound :15443 requires a mesh client certificate, asks the pod's OPA (ext_authz, fail closed)
// and forwards to the app on loopback; outbound 127.0.0.1:15001 routes by Host to the agent's next
// hops only (anything else: 404, registry-only) and originates mTLS, checking the callee's SPIFFE id;
// 127.0.0.1:15002 carries the pod's calls (app audit events, OPA decision logs, SVID requests) over
// mTLS to the owner's control plane. The control plane's own pod has an Envoy too: inbound mTLS
// from the workflow's SPIFFE ids only, which tells the control plane who calls (XFCC).
// Certificates come through SDS from files (`reelmesh certs` writes them), watched, so a renewal
// (`reelmesh certs --renew`) is picked up without a restart.
import { formatSpiffeId, POD_PORTS, POLICY_STATUS, spiffeTrustDomainPrefix } from '@reelmesh/addressing';
import { ownerOf, spiffeId, type Workflow } from '@reelmesh/workflow';
import { APP_PORT, CONTROL_PLANE_EGRESS_PORT, CONTROL_PLANE_NAME, CONTROL_PLANE_PORT, EXT_AUTHZ_TIMEOUT, LIVENESS_PATH, OPA_GRPC_PORT, READINESS_PATH } from '../settings';
import type { AgentPlacement, Topology } from '../topology';

export const ENVOY_INBOUND_PORT = POD_PORTS.inbound;
export const ENVOY_OUTBOUND_PORT = POD_PORTS.outbound;
export const ENVOY_ADMIN_PORT = 9901;
/** Where each Envoy sees its pod's certificate folder (`reelmesh certs`: <certs>/<pod>/envoy). */
export const CERTS_IN_CONTAINER = '/certs';
/**
 * The symlink in that folder to the current generation of cert.pem, key.pem and ca.pem.
 * `reelmesh certs --renew` writes a new generation beside it and renames a new link over this one:
 * one atomic move, so Envoy never reads a new certificate with an old key.
 */
export const CURRENT_CERTS = 'current';
export const CERT_FILES = { certificate: 'cert.pem', privateKey: 'key.pem', trustBundle: 'ca.pem' } as const;
/** The SDS resource files (generated, the same for every Envoy), and where Envoy sees them. */
export const SDS_DIR = 'docker/envoy/sds';
export const SDS_IN_CONTAINER = '/etc/envoy/sds';
const SVID_SECRET = 'svid';
const TRUST_BUNDLE_SECRET = 'trust-bundle';
const SDS_FILES = { [SVID_SECRET]: 'svid.yaml', [TRUST_BUNDLE_SECRET]: 'trust-bundle.yaml' } as const;

const TLS = 'envoy.transport_sockets.tls';
/** Every pod-to-pod handshake is TLS 1.3, on the inbound and the outbound side alike. */
export const TLS_VERSION = 'TLSv1_3';
/** Envoy's type.v3.StatusCode names the HTTP statuses it answers by name. */
const ENVOY_STATUS_NAME: Record<number, string> = { 503: 'ServiceUnavailable' };
const type = (name: string) => `type.googleapis.com/${name}`;

/** The control plane's identity: its ServiceAccount-style name in the owner's namespace. */
export function controlPlaneSpiffeId(wf: Workflow): string {
  return formatSpiffeId({ trustDomain: wf.metadata.trustDomain, actor: ownerOf(wf).actor, agent: CONTROL_PLANE_NAME });
}

export function envoyConfig(topology: Topology, agent: AgentPlacement): object {
  return {
    admin: { address: socket('127.0.0.1', ENVOY_ADMIN_PORT) },
    static_resources: {
      listeners: [inboundListener(topology), outboundListener(agent), controlPlaneEgressListener()],
      clusters: [
        plainCluster('app', '127.0.0.1', APP_PORT, false),
        plainCluster('opa', '127.0.0.1', OPA_GRPC_PORT, true),
        ...agent.nextHops.map((hop) => mtlsCluster(`out-${hop}`, hop, spiffeId(topology.workflow, hop))),
        mtlsCluster(CONTROL_PLANE_CLUSTER, CONTROL_PLANE_NAME, controlPlaneSpiffeId(topology.workflow)),
      ],
    },
  };
}

/**
 * The control plane's pod: inbound mTLS from the workflow's agents only (their exact SPIFFE ids,
 * as the AuthorizationPolicy on the control plane under Istio), to the control plane on loopback.
 * Envoy replaces any x-forwarded-client-cert header with the verified client's URI SAN: the one
 * way the control plane (started with --mesh-identity) learns who calls.
 */
export function controlPlaneEnvoyConfig(topology: Topology): object {
  const wf = topology.workflow;
  return {
    admin: { address: socket('127.0.0.1', ENVOY_ADMIN_PORT) },
    static_resources: {
      listeners: [
        {
          name: 'inbound',
          address: socket('0.0.0.0', ENVOY_INBOUND_PORT),
          filter_chains: [
            {
              transport_socket: downstreamTls(wf.agents.map((agent) => ({ san_type: 'URI', matcher: { exact: spiffeId(wf, agent.name) } }))),
              filters: [
                httpConnectionManager(
                  'inbound',
                  [{ name: CONTROL_PLANE_NAME, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: CONTROL_PLANE_NAME } }] }],
                  [],
                  'SANITIZE_SET',
                ),
              ],
            },
          ],
        },
      ],
      clusters: [plainCluster(CONTROL_PLANE_NAME, '127.0.0.1', CONTROL_PLANE_PORT, false)],
    },
  };
}

const CONTROL_PLANE_CLUSTER = `out-${CONTROL_PLANE_NAME}`;

function inboundListener(topology: Topology): object {
  const td = topology.workflow.metadata.trustDomain;
  return {
    name: 'inbound',
    address: socket('0.0.0.0', ENVOY_INBOUND_PORT),
    filter_chains: [
      {
        // Any mesh certificate of the trust domain; the pod's OPA decides who may call what.
        transport_socket: downstreamTls([{ san_type: 'URI', matcher: { prefix: spiffeTrustDomainPrefix(td) } }]),
        filters: [
          httpConnectionManager('inbound', [
            {
              name: 'app',
              domains: ['*'],
              routes: [
                // The probes skip OPA, as under Istio (AuthorizationPolicy notPaths).
                ...[LIVENESS_PATH, READINESS_PATH].map((path) => ({
                  match: { path },
                  route: { cluster: 'app' },
                  typed_per_filter_config: {
                    'envoy.filters.http.ext_authz': { '@type': type('envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute'), disabled: true },
                  },
                })),
                // Chunk uploads stream for as long as they take: no route timeout.
                { match: { prefix: '/' }, route: { cluster: 'app', timeout: '0s' } },
              ],
            },
          ], [extAuthzFilter()]),
        ],
      },
    ],
  };
}

function outboundListener(agent: AgentPlacement): object {
  return {
    name: 'outbound',
    address: socket('127.0.0.1', ENVOY_OUTBOUND_PORT),
    filter_chains: [
      {
        filters: [
          httpConnectionManager(
            'outbound',
            agent.nextHops.map((hop) => ({
              name: hop,
              domains: [hop, `${hop}:*`],
              routes: [{ match: { prefix: '/' }, route: { cluster: `out-${hop}`, timeout: '0s' } }],
            })),
            [],
          ),
        ],
      },
    ],
  };
}

/** Plain HTTP from the pod's app and OPA on loopback, carried over mTLS to the control plane's pod. */
function controlPlaneEgressListener(): object {
  return {
    name: 'control-plane',
    address: socket('127.0.0.1', CONTROL_PLANE_EGRESS_PORT),
    filter_chains: [
      {
        filters: [
          httpConnectionManager(
            'control-plane',
            [{ name: CONTROL_PLANE_NAME, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: CONTROL_PLANE_CLUSTER } }] }],
            [],
          ),
        ],
      },
    ],
  };
}

/**
 * `forwardClientCert`: SANITIZE (agent pods: identity travels only in the TLS handshake, any
 * client-supplied XFCC header is dropped) or SANITIZE_SET (the control plane's pod: the header is
 * replaced with the verified client certificate's details, here its URI SAN only).
 */
function httpConnectionManager(prefix: string, virtualHosts: object[], filters: object[], forwardClientCert: 'SANITIZE' | 'SANITIZE_SET' = 'SANITIZE'): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': type('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
      stat_prefix: prefix,
      forward_client_cert_details: forwardClientCert,
      ...(forwardClientCert === 'SANITIZE_SET' ? { set_current_client_cert_details: { uri: true } } : {}),
      // PATH_NORMALIZATION (settings.ts), as Istio's DECODE_AND_MERGE_SLASHES and the local proxy:
      // RFC 3986 normalisation (dot segments), merged slashes, %2F/%5C decoded; the policy and the
      // app both see the normalised path.
      normalize_path: true,
      merge_slashes: true,
      path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD',
      access_log: [
        {
          name: 'envoy.access_loggers.stdout',
          typed_config: {
            '@type': type('envoy.extensions.access_loggers.stream.v3.StdoutAccessLog'),
            log_format: { json_format: { direction: prefix, method: '%REQ(:METHOD)%', path: '%REQ(:PATH)%', status: '%RESPONSE_CODE%', peer: '%DOWNSTREAM_PEER_URI_SAN%', upstream: '%UPSTREAM_PEER_URI_SAN%', duration_ms: '%DURATION%' } },
          },
        },
      ],
      route_config: { name: prefix, virtual_hosts: virtualHosts },
      http_filters: [...filters, { name: 'envoy.filters.http.router', typed_config: { '@type': type('envoy.extensions.filters.http.router.v3.Router') } }],
    },
  };
}

function extAuthzFilter(): object {
  return {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': type('envoy.extensions.filters.http.ext_authz.v3.ExtAuthz'),
      transport_api_version: 'V3',
      // OPA down or slow -> 503 (senders retry, as with the local proxy), never a pass.
      failure_mode_allow: false,
      status_on_error: { code: ENVOY_STATUS_NAME[POLICY_STATUS.unavailable] },
      include_peer_certificate: true,
      grpc_service: { envoy_grpc: { cluster_name: 'opa' }, timeout: EXT_AUTHZ_TIMEOUT },
    },
  };
}

function downstreamTls(sans: object[]): object {
  return {
    name: TLS,
    typed_config: {
      '@type': type('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
      require_client_certificate: true,
      common_tls_context: commonTls(sans),
    },
  };
}

/** mTLS to `host`'s pod, talking only to the peer with exactly `peerId` (not just any mesh certificate). */
function mtlsCluster(name: string, host: string, peerId: string): object {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(host, ENVOY_INBOUND_PORT) } }] }] },
    transport_socket: {
      name: TLS,
      typed_config: {
        '@type': type('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        sni: host,
        common_tls_context: commonTls([{ san_type: 'URI', matcher: { exact: peerId } }]),
      },
    },
  };
}

/**
 * The pod's SVID and the trust bundle come through SDS from files (svid.yaml, trust-bundle.yaml);
 * the SAN matchers of this context are merged with the trust bundle (combined_validation_context).
 */
function commonTls(sans: object[]): object {
  return {
    // Both ends: Envoy's client default maximum is TLS 1.2, so a minimum of 1.3 alone fails every handshake.
    tls_params: { tls_minimum_protocol_version: TLS_VERSION, tls_maximum_protocol_version: TLS_VERSION },
    tls_certificate_sds_secret_configs: [{ name: SVID_SECRET, sds_config: sdsSource(SVID_SECRET) }],
    combined_validation_context: {
      default_validation_context: { match_typed_subject_alt_names: sans },
      validation_context_sds_secret_config: { name: TRUST_BUNDLE_SECRET, sds_config: sdsSource(TRUST_BUNDLE_SECRET) },
    },
  };
}

function sdsSource(secret: keyof typeof SDS_FILES): object {
  // A file-based SDS subscription: Envoy reads the Secret resource from this file (it never changes).
  return { path_config_source: { path: `${SDS_IN_CONTAINER}/${SDS_FILES[secret]}` }, resource_api_version: 'V3' };
}

/**
 * The SDS resource files (DiscoveryResponse form). `watched_directory` is the certificate folder:
 * a move in it (the `current` link renamed over) makes Envoy read cert and key again, together,
 * checked for a consistent pair (Envoy's "SDS key rotation" scheme), and the trust bundle likewise.
 */
export function sdsFiles(): Array<{ path: string; doc: object }> {
  const file = (name: string) => `${CERTS_IN_CONTAINER}/${CURRENT_CERTS}/${name}`;
  const watched_directory = { path: CERTS_IN_CONTAINER };
  const secret = (name: string, body: object) => ({ resources: [{ '@type': type('envoy.extensions.transport_sockets.tls.v3.Secret'), name, ...body }] });
  return [
    {
      path: `${SDS_DIR}/${SDS_FILES[SVID_SECRET]}`,
      doc: secret(SVID_SECRET, {
        tls_certificate: { certificate_chain: { filename: file(CERT_FILES.certificate) }, private_key: { filename: file(CERT_FILES.privateKey) }, watched_directory },
      }),
    },
    {
      path: `${SDS_DIR}/${SDS_FILES[TRUST_BUNDLE_SECRET]}`,
      doc: secret(TRUST_BUNDLE_SECRET, { validation_context: { trusted_ca: { filename: file(CERT_FILES.trustBundle) }, watched_directory } }),
    },
  ];
}

function plainCluster(name: string, host: string, port: number, http2: boolean): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(host, port) } }] }] },
    ...(http2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': type('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'),
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
  };
}

function socket(address: string, port: number): object {
  return { socket_address: { address, port_value: port } };
}
