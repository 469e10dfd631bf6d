// One agent = ServiceAccount + Deployment (app + OPA-Envoy sidecar) + Service + sealed volume claim.
// One name everywhere: the agent name is the Deployment, Service, ServiceAccount, `app` label and
// the SPIFFE id's `sa`, so the Istio principal of the pod is exactly the workflow's principal.
// A replaced pod resumes from the same claim (strategy Recreate: one writer per volume); readiness
// (/ready) keeps traffic away until it has, liveness (/health) restarts a wedged one, and the grace
// period covers the job in flight (settings.ts: LONGEST_JOB_SECONDS).
import { agentEnvironment, type EnvSource } from '@reelmesh/agent-kit';
import { KMS_ENV } from '@reelmesh/envelope';
import { imageString, OPA_ENVOY_IMAGE, reelmeshImage } from '../images';
import { OPA_RUN, opaSignedBundleArgs } from '../opa-config';
import {
  APP_PORT,
  APP_UID,
  DATA_DIR,
  OPA_DIAGNOSTIC_PORT,
  OPA_GRPC_PORT,
  OPA_API_PORT,
  OPA_UID,
  APP_STARTUP_SECONDS,
  LIVENESS_PATH,
  READINESS_PATH,
  WORKFLOW_IN_IMAGE,
  serviceHost,
  APP_DRAIN_SECONDS,
} from '../settings';
import type { AgentPlacement, Topology } from '../topology';
import { controlPlaneUrl } from './control-plane-manifests';
import { hasAssetKey, KMS_CONFIGMAP, kmsKey } from './kms-keys';
import { containerSecurity } from './security';
import { meshWorkloadManifests } from './workload';

/**
 * The owner's signed OPA bundle and its public key: NOT generated (signing needs the owner's
 * private key). The owner publishes them at deploy time (tools/kind/deploy.sh, from `reelmesh
 * certs`); until they exist the OPA sidecar cannot start, so nothing is allowed.
 */
export const POLICY_BUNDLE_CONFIGMAP = 'reelmesh-policy-bundle';
export const POLICY_KEY_CONFIGMAP = 'reelmesh-owner-bundle-key';
export const POLICY_BUNDLE_FILE = 'reelmesh.tar.gz';
export const POLICY_KEY_FILE = 'owner-bundle.pub.pem';
export const OPA_CONFIG_CONFIGMAP = 'opa-config';
/**
 * Per-workload local-KMS credentials (keys REELMESH_KMS_ACCESS_KEY_ID, REELMESH_KMS_SECRET_ACCESS_KEY,
 * as `reelmesh certs` writes them to <certs>/<workload>/kms.env): created at deploy time
 * (k8s/published), never committed. Not in the multi-cluster overlay: IRSA there.
 */
/** The app's container in an agent's Deployment (what `kubectl exec -c` names). */
export const AGENT_CONTAINER = 'agent';
export const kmsSecretName = (agent: string) => `${agent}-kms-credentials`;
/** The agent's sealed volume: a claim that outlives every pod of the Deployment. */
export const sealedClaimName = (agent: string) => `${agent}-sealed`;

export function agentManifests(topology: Topology, agent: AgentPlacement): object[] {
  return meshWorkloadManifests({
    name: agent.name,
    component: 'agent',
    port: { name: 'http-handoff', port: APP_PORT },
    claim: { name: sealedClaimName(agent.name), storage: '10Gi' },
    pod: {
      // OPA is a native sidecar too: up before the app starts, stopped after it exits.
      initContainers: [opaContainer()],
      containers: [appContainer(topology, agent)],
      volumes: [
        { name: 'sealed', persistentVolumeClaim: { claimName: sealedClaimName(agent.name) } },
        { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
        { name: 'policy-bundle', configMap: { name: POLICY_BUNDLE_CONFIGMAP } },
        { name: 'policy-key', configMap: { name: POLICY_KEY_CONFIGMAP } },
        { name: 'opa-config', configMap: { name: OPA_CONFIG_CONFIGMAP } },
      ],
    },
  });
}

function appContainer(topology: Topology, agent: AgentPlacement): object {
  const peers = Object.fromEntries(
    agent.nextHops.map((hop) => [hop, `http://${serviceHost(hop, topology.agent(hop).namespace)}:${APP_PORT}`]),
  );
  const config = (key: string) => ({ from: 'config' as const, name: KMS_CONFIGMAP, key });
  const secret = (key: string) => ({ from: 'secret' as const, name: kmsSecretName(agent.name), key });
  const ledger = controlPlaneUrl(topology);
  const env = agentEnvironment(topology.workflow, agent.name, {
    workflowPath: WORKFLOW_IN_IMAGE,
    dataDir: `${DATA_DIR}/objects`,
    // Istio forwards inbound traffic to the pod IP, so the app listens on all pod interfaces;
    // only the sidecar can reach it (STRICT mTLS + AuthorizationPolicy).
    listen: `0.0.0.0:${APP_PORT}`,
    // Next hops only; Envoy intercepts and originates mTLS.
    next: { peers },
    // Drains within the pod's termination grace (a job in flight finishes and is handed on).
    drainDeadlineMs: APP_DRAIN_SECONDS * 1000,
    ownerDirs: { ingest: `${DATA_DIR}/ingest`, export: `${DATA_DIR}/export` },
    // The owner's control plane knows the app by its Istio identity (no bootstrap token) and
    // issues its provenance-signing SVID; the same service keeps the audit ledger.
    identity: { controlPlane: ledger },
    audit: { url: ledger },
    // Which keys: kms-config (aliases on kind, key ARNs in the multi-cluster overlay), from agentKmsKeys.
    kms: {
      endpoint: config('endpoint'),
      region: config('region'),
      keyId: config(kmsKey(agent.name, 'keyId')),
      allowedKeyIds: config(kmsKey(agent.name, 'allowedKeyIds')),
      ...(hasAssetKey(topology.workflow, agent.name) ? { assetKeyId: config(kmsKey(agent.name, 'assetKeyId')) } : {}),
      accessKeyId: secret(KMS_ENV.accessKeyId),
      secretAccessKey: secret(KMS_ENV.secretAccessKey),
    },
  });
  return {
    name: AGENT_CONTAINER,
    image: imageString(reelmeshImage(agent.app)),
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http-handoff', containerPort: APP_PORT, protocol: 'TCP' }],
    env: [...Object.entries(env).map(([name, value]) => k8sEnv(name, value)), { name: 'TMPDIR', value: '/tmp' }],
    ...appProbes(),
    resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } },
    securityContext: containerSecurity(APP_UID),
    volumeMounts: [
      { name: 'sealed', mountPath: DATA_DIR },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

/** An environment entry as a container env var: a value, or a Secret / ConfigMap key. */
export function k8sEnv(name: string, value: EnvSource): object {
  if (typeof value === 'string') return { name, value };
  const ref = { name: value.name, key: value.key };
  return { name, valueFrom: value.from === 'secret' ? { secretKeyRef: ref } : { configMapKeyRef: ref } };
}

/**
 * The app's probes (Istio rewrites them to its agent, so they need no mTLS and skip OPA):
 * - startup: the process answers /health at all within APP_STARTUP_SECONDS; until then the
 *   other probes wait, so a slow start is not taken for a wedge;
 * - readiness: /ready is 200 only once the app has re-read its sealed volume and resumed its work,
 *   and 503 again while it drains: a pod that is alive but resuming or draining gets no chunks;
 * - liveness: /health answers while the event loop runs (ffmpeg runs in child processes, so a long
 *   job does not block it); a minute without an answer means wedged, and the kubelet restarts it.
 */
function appProbes(): object {
  const period = 5;
  return {
    startupProbe: {
      httpGet: { path: LIVENESS_PATH, port: 'http-handoff' },
      periodSeconds: period,
      timeoutSeconds: 3,
      failureThreshold: Math.ceil(APP_STARTUP_SECONDS / period),
    },
    readinessProbe: { httpGet: { path: READINESS_PATH, port: 'http-handoff' }, periodSeconds: period, timeoutSeconds: 3, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: LIVENESS_PATH, port: 'http-handoff' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
  };
}

/** opa-envoy-plugin: Envoy's ext_authz asks it on :9191; it loads only the owner's signed bundle.
 * A native sidecar (restartPolicy Always): it outlives the draining app, so a late request is
 * answered by the app's 503 (retry later), not a fail-closed 403 from a missing OPA. */
function opaContainer(): object {
  return {
    name: 'opa-envoy',
    image: imageString(OPA_ENVOY_IMAGE),
    imagePullPolicy: 'IfNotPresent',
    args: [
      ...OPA_RUN,
      '--config-file=/config/config.yaml',
      `--addr=localhost:${OPA_API_PORT}`,
      `--diagnostic-addr=0.0.0.0:${OPA_DIAGNOSTIC_PORT}`,
      ...opaSignedBundleArgs('/policy-bundle', '/policy-key'),
    ],
    ports: [
      { name: 'grpc-ext-authz', containerPort: OPA_GRPC_PORT, protocol: 'TCP' },
      { name: 'http-opa-diag', containerPort: OPA_DIAGNOSTIC_PORT, protocol: 'TCP' },
    ],
    restartPolicy: 'Always',
    // Ready only once the policy is loaded and the ext_authz plugin is up (the signed bundle comes
    // from --bundle, not the bundle plugin: OPA does not start without it). The app starts after.
    startupProbe: { httpGet: { path: '/health?plugins', port: OPA_DIAGNOSTIC_PORT }, periodSeconds: 2, failureThreshold: 30 },
    readinessProbe: { httpGet: { path: '/health?plugins', port: OPA_DIAGNOSTIC_PORT }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/health', port: OPA_DIAGNOSTIC_PORT }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
    securityContext: containerSecurity(OPA_UID),
    volumeMounts: [
      { name: 'policy-bundle', mountPath: '/policy-bundle', readOnly: true },
      { name: 'policy-key', mountPath: '/policy-key', readOnly: true },
      { name: 'opa-config', mountPath: '/config', readOnly: true },
    ],
  };
}
