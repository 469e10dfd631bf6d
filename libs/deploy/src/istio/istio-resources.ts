// Istio resources derived from the workflow: STRICT mTLS everywhere, the in-pod OPA as a CUSTOM
// authorizer, an ALLOW list of exactly the callers each agent has in the workflow, and per-agent
// egress limited to its next hops and the KMS. Principals use the workflow's trust domain (the
// mesh is installed with meshConfig.trustDomain = workflow trustDomain; see istio-operator.ts).
import { formatSpiffeId } from '@reelmesh/addressing';
import { ownerOf, spiffeId } from '@reelmesh/workflow';
import {
  CONTROL_PLANE_NAME,
  EXT_AUTHZ_HOST,
  EXT_AUTHZ_PROVIDER,
  KMS_NAME,
  KMS_NAMESPACE,
  LIVENESS_PATH,
  OPA_GRPC_PORT,
  READINESS_PATH,
  serviceHost,
} from '../settings';
import { istioPrincipal, type AgentPlacement, type Topology } from '../topology';

export const ISTIO_SYSTEM = 'istio-system';
/** GA (v1) since Istio 1.22, the oldest Istio these files support (docs/deploy.md). */
export const ISTIO_SECURITY_API = 'security.istio.io/v1';
export const ALLOW_NOTHING = 'allow-nothing';

/**
 * Namespace-wide allow-nothing: an ALLOW policy without a selector or rules applies to every
 * workload of the namespace and matches no request, so whatever no other ALLOW policy names is
 * denied — also a workload added later without its own `<agent>-allow`.
 */
export function allowNothingPolicy(namespace: string): object {
  return { apiVersion: ISTIO_SECURITY_API, kind: 'AuthorizationPolicy', metadata: { name: ALLOW_NOTHING, namespace }, spec: {} };
}

export function peerAuthenticationMeshStrict(): object {
  return {
    apiVersion: ISTIO_SECURITY_API,
    kind: 'PeerAuthentication',
    // In the root namespace: applies to the whole mesh.
    metadata: { name: 'default', namespace: ISTIO_SYSTEM },
    spec: { mtls: { mode: 'STRICT' } },
  };
}

/** Lets every sidecar resolve the extension provider's host to its own pod's OPA. */
export function opaServiceEntry(): object {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name: 'opa-ext-authz-local', namespace: ISTIO_SYSTEM },
    spec: {
      hosts: [EXT_AUTHZ_HOST],
      exportTo: ['*'],
      ports: [{ number: OPA_GRPC_PORT, name: 'grpc-ext-authz', protocol: 'GRPC' }],
      resolution: 'STATIC',
      location: 'MESH_INTERNAL',
      endpoints: [{ address: '127.0.0.1' }],
    },
  };
}

/** Every request except the probes (/health, /ready) goes to the pod's OPA first (the workflow Rego decides). */
export function extAuthzPolicy(agent: AgentPlacement): object {
  return {
    apiVersion: ISTIO_SECURITY_API,
    kind: 'AuthorizationPolicy',
    metadata: { name: `${agent.name}-ext-authz`, namespace: agent.namespace },
    spec: {
      selector: { matchLabels: { app: agent.name } },
      action: 'CUSTOM',
      provider: { name: EXT_AUTHZ_PROVIDER },
      rules: [{ to: [{ operation: { notPaths: [LIVENESS_PATH, READINESS_PATH] } }] }],
    },
  };
}

/**
 * Istio's own allow-list, independent of OPA (defence in depth): one rule per access-matrix edge
 * into this agent, naming the caller's principal and the handoff path. No rule -> nothing allowed.
 */
export function allowPolicy(agent: AgentPlacement): object {
  return {
    apiVersion: ISTIO_SECURITY_API,
    kind: 'AuthorizationPolicy',
    metadata: { name: `${agent.name}-allow`, namespace: agent.namespace },
    spec: {
      selector: { matchLabels: { app: agent.name } },
      action: 'ALLOW',
      rules: agent.inbound.map((rule) => ({
        from: [{ source: { principals: [istioPrincipal(rule.sourcePrincipal)] } }],
        to: [{ operation: { methods: ['POST'], paths: [rule.pathPattern.replace('{chunk}', '*')] } }],
      })),
    },
  };
}

/** The owner's control plane as an Istio principal: its ServiceAccount in the owner's namespace. */
export function controlPlanePrincipal(topology: Topology): string {
  const wf = topology.workflow;
  return istioPrincipal(formatSpiffeId({ trustDomain: wf.metadata.trustDomain, actor: ownerOf(wf).actor, agent: CONTROL_PLANE_NAME }));
}

/** Every agent of the workflow as an Istio principal. */
export function workflowPrincipals(topology: Topology): string[] {
  return topology.agents.map((agent) => istioPrincipal(spiffeId(topology.workflow, agent.name)));
}

/**
 * Who may call the owner's control plane: exactly the workflow's agents (their apps fetch signing
 * SVIDs and send audit events; their OPA sidecars, in the same pods, ship decision logs). The
 * control plane then tells them apart by the x-forwarded-client-cert istio-proxy sets, and
 * decides per route itself. The owner reaches its admin API with `kubectl port-forward` (docs).
 */
export function controlPlaneAllowPolicy(topology: Topology): object {
  return {
    apiVersion: ISTIO_SECURITY_API,
    kind: 'AuthorizationPolicy',
    metadata: { name: `${CONTROL_PLANE_NAME}-allow`, namespace: ownerOf(topology.workflow).actor },
    spec: {
      selector: { matchLabels: { app: CONTROL_PLANE_NAME } },
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: workflowPrincipals(topology) } }] }],
    },
  };
}

/** The control plane calls only the KMS (its ledger seals under the workflow key). */
export function controlPlaneSidecar(topology: Topology): object {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'Sidecar',
    metadata: { name: `${CONTROL_PLANE_NAME}-egress`, namespace: ownerOf(topology.workflow).actor },
    spec: {
      workloadSelector: { labels: { app: CONTROL_PLANE_NAME } },
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      egress: [{ hosts: [`${KMS_NAMESPACE}/*`, `${ISTIO_SYSTEM}/*`] }],
    },
  };
}

/** Only agents of the workflow and the owner's control plane (its ledger) may call the local KMS (each signs with its own key). */
export function kmsAllowPolicy(topology: Topology): object {
  return {
    apiVersion: ISTIO_SECURITY_API,
    kind: 'AuthorizationPolicy',
    metadata: { name: `${KMS_NAME}-allow`, namespace: KMS_NAMESPACE },
    spec: {
      selector: { matchLabels: { app: KMS_NAME } },
      action: 'ALLOW',
      rules: [
        {
          from: [{ source: { principals: [...workflowPrincipals(topology), controlPlanePrincipal(topology)] } }],
          to: [{ operation: { methods: ['POST'], paths: ['/'] } }],
        },
      ],
    },
  };
}

/** Namespace default: registry-only and no egress beyond the control plane. */
export function namespaceSidecar(namespace: string): object {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'Sidecar',
    metadata: { name: 'default', namespace },
    spec: {
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      egress: [{ hosts: [`${ISTIO_SYSTEM}/*`] }],
    },
  };
}

/** The hosts an agent's sidecar may route to: its next hops, the KMS, the owner's control plane (signing SVIDs, audit, decision logs) and istiod. */
export function egressHosts(topology: Topology, agent: AgentPlacement): string[] {
  const hops = agent.nextHops.map((hop) => {
    const ns = topology.agent(hop).namespace;
    return `${ns}/${serviceHost(hop, ns)}`;
  });
  const owner = ownerOf(topology.workflow).actor;
  return [...hops, `${owner}/${serviceHost(CONTROL_PLANE_NAME, owner)}`, `${KMS_NAMESPACE}/*`, `${ISTIO_SYSTEM}/*`];
}

export function agentSidecar(topology: Topology, agent: AgentPlacement): object {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'Sidecar',
    metadata: { name: `${agent.name}-egress`, namespace: agent.namespace },
    spec: {
      workloadSelector: { labels: { app: agent.name } },
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      egress: [{ hosts: egressHosts(topology, agent) }],
    },
  };
}
