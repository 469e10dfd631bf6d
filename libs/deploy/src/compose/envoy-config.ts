// Envoy bootstrap for one Compose pod: the same job the Istio sidecar does in a cluster.
// Inbound :15443 requires a mesh client certificate, asks the pod's OPA (ext_authz, fail closed)
// and forwards to the app on loopback; outbound 127.0.0.1:15001 routes by Host to the agent's next
// hops only (anything else: 404, registry-only) and originates mTLS, checking the callee's SPIFFE id.
import { spiffeId } from '@reelmesh/workflow';
import { APP_PORT, EXT_AUTHZ_TIMEOUT, LIVENESS_PATH, OPA_GRPC_PORT, READINESS_PATH } from '../settings';
import type { AgentPlacement, Topology } from '../topology';
import { POD_PORTS, spiffeTrustDomainPrefix } from '@reelmesh/addressing';

export const ENVOY_INBOUND_PORT = POD_PORTS.inbound;
export const ENVOY_OUTBOUND_PORT = POD_PORTS.outbound;
export const ENVOY_ADMIN_PORT = 9901;
export const CERTS_IN_CONTAINER = '/certs';

const TLS = 'envoy.transport_sockets.tls';
/** Every pod-to-pod handshake is TLS 1.3, on the inbound and the outbound side alike. */
export const TLS_VERSION = 'TLSv1_3';
const type = (name: string) => `type.googleapis.com/${name}`;

export function envoyConfig(topology: Topology, agent: AgentPlacement): object {
  return {
    admin: { address: socket('127.0.0.1', ENVOY_ADMIN_PORT) },
    static_resources: {
      listeners: [inboundListener(topology, agent), outboundListener(agent)],
      clusters: [
        plainCluster('app', '127.0.0.1', APP_PORT, false),
        plainCluster('opa', '127.0.0.1', OPA_GRPC_PORT, true),
        ...agent.nextHops.map((hop) => mtlsCluster(topology, agent, hop)),
      ],
    },
  };
}

function inboundListener(topology: Topology, agent: AgentPlacement): object {
  const td = topology.workflow.metadata.trustDomain;
  return {
    name: 'inbound',
    address: socket('0.0.0.0', ENVOY_INBOUND_PORT),
    filter_chains: [
      {
        transport_socket: {
          name: TLS,
          typed_config: {
            '@type': type('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
            require_client_certificate: true,
            common_tls_context: {
              ...commonTls(agent),
              validation_context: {
                trusted_ca: { filename: `${CERTS_IN_CONTAINER}/ca.pem` },
                match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: spiffeTrustDomainPrefix(td) } }],
              },
            },
          },
        },
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

function httpConnectionManager(prefix: string, virtualHosts: object[], filters: object[]): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': type('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
      stat_prefix: prefix,
      // Identity travels only in the TLS handshake: drop any client-supplied XFCC header.
      forward_client_cert_details: 'SANITIZE',
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
      status_on_error: { code: 'ServiceUnavailable' },
      include_peer_certificate: true,
      grpc_service: { envoy_grpc: { cluster_name: 'opa' }, timeout: EXT_AUTHZ_TIMEOUT },
    },
  };
}

function mtlsCluster(topology: Topology, agent: AgentPlacement, hop: string): object {
  return {
    name: `out-${hop}`,
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: { cluster_name: `out-${hop}`, endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(hop, ENVOY_INBOUND_PORT) } }] }] },
    transport_socket: {
      name: TLS,
      typed_config: {
        '@type': type('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
        sni: hop,
        common_tls_context: {
          ...commonTls(agent),
          validation_context: {
            trusted_ca: { filename: `${CERTS_IN_CONTAINER}/ca.pem` },
            // Talk to that agent only: its exact SPIFFE id, not just any mesh certificate.
            match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: spiffeId(topology.workflow, hop) } }],
          },
        },
      },
    },
  };
}

function commonTls(agent: AgentPlacement): object {
  return {
    // Both ends: Envoy's client default maximum is TLS 1.2, so a minimum of 1.3 alone fails every handshake.
    tls_params: { tls_minimum_protocol_version: TLS_VERSION, tls_maximum_protocol_version: TLS_VERSION },
    tls_certificates: [
      {
        certificate_chain: { filename: `${CERTS_IN_CONTAINER}/${agent.name}/cert.pem` },
        private_key: { filename: `${CERTS_IN_CONTAINER}/${agent.name}/key.pem` },
      },
    ],
  };
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
