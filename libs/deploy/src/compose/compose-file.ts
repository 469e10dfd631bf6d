// docker-compose.yml for laptop integration: each pod is one network namespace held by a pause
// container (service <agent>, the pod sandbox), joined by Envoy (<agent>-envoy), the OPA-Envoy
// sidecar (<agent>-opa) and the app (<agent>-app) via network_mode: service:<agent>. Only Envoy's
// mTLS port faces the Compose network. Like a kubelet, Docker restarts any container that dies
// (restart: unless-stopped); because the pause container holds the namespace, a restarted Envoy,
// OPA or app rejoins the same pod network (were Envoy the holder, its restart would cut the others off).
// The owner's control plane is a pod too (control-plane, -envoy, -app): the audit ledger and the
// issuer of the apps' signing SVIDs, reached from every pod through its Envoy (127.0.0.1:15002).
// Each container mounts only what it uses (CERTS_LAYOUT in certs.ts): no container sees a private
// key but its own, and the owner's bundle-signing key is in none.
import { agentEnvironment, agentKmsKeys } from '@reelmesh/agent-kit';
import { KMS_ENV, kmsEnvironment } from '@reelmesh/envelope';
import { LEDGER_AGENT } from '@reelmesh/provenance';
import { ownerOf, type Workflow } from '@reelmesh/workflow';
import { CERTS_LAYOUT } from '../certs';
import { composeImageString, ENVOY_IMAGE, NODE_IMAGE, OPA_ENVOY_IMAGE, PAUSE_IMAGE, reelmeshImage } from '../images';
import { aliasKeyRefs } from '../k8s/kms-keys';
import { bashHttpProbe, nodeHttpProbe, nodeTcpProbe } from '../probes';
import {
  APP_PORT,
  APP_STARTUP_SECONDS,
  CONTROL_PLANE_EGRESS_PORT,
  CONTROL_PLANE_NAME,
  CONTROL_PLANE_PORT,
  DATA_DIR,
  KMS_NAME,
  KMS_PORT,
  KMS_REGION,
  LIVENESS_PATH,
  OPA_API_PORT,
  OPA_DIAGNOSTIC_PORT,
  READINESS_PATH,
  TERMINATION_GRACE_SECONDS,
  WORKFLOW_IN_IMAGE,
  APP_DRAIN_SECONDS,
} from '../settings';
import type { AgentPlacement, Topology } from '../topology';
import { OPA_RUN, opaSignedBundleArgs } from '../opa-config';
import { CERTS_IN_CONTAINER, ENVOY_ADMIN_PORT, ENVOY_OUTBOUND_PORT, SDS_DIR, SDS_IN_CONTAINER } from './envoy-config';
import { controlPlaneCommand } from '../control-plane-args';

/** Where `reelmesh certs` writes (gitignored .reelmesh/), relative to the repository root. */
export const COMPOSE_CERTS_DIR = '.reelmesh/certs';
/** A pod's Envoy bootstrap (an agent's, or the control plane's). */
export const envoyConfigPath = (pod: string) => `docker/envoy/${pod}.yaml`;
export const OPA_CONFIG_PATH = 'docker/opa/config.yaml';
/** The one Compose network: the pods' sandboxes and the KMS. */
export const MESH_NETWORK = 'mesh';
/** Key files are private to the user who ran `reelmesh certs`; containers that read them run as that user. */
const HOST_USER = '${REELMESH_UID:-1000}:${REELMESH_GID:-1000}';
/** Makes the named volumes of the containers that run as HOST_USER theirs, before they start. */
export const VOLUME_INIT = 'volume-init';
/** Where every pod's app and OPA reach the owner's control plane: their Envoy's egress listener. */
export const COMPOSE_CONTROL_PLANE_URL = `http://127.0.0.1:${CONTROL_PLANE_EGRESS_PORT}`;

const digestVariable = (program: string) => `REELMESH_${program.toUpperCase().replace(/-/g, '_')}_DIGEST`;
const certs = (rel: string) => `./${COMPOSE_CERTS_DIR}/${rel}`;

const hardened = {
  read_only: true,
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
};
/** Every container comes back when it dies (a kubelet's restartPolicy Always), unless stopped on purpose. */
const RESTART = 'unless-stopped';
/** Names of one pod's services. */
export const podServices = (agent: string) => ({ pod: agent, envoy: `${agent}-envoy`, opa: `${agent}-opa`, app: `${agent}-app` });

/** Named volumes written by containers that run as HOST_USER, with where they are mounted. */
const HOST_USER_VOLUMES = { [`${KMS_NAME}-state`]: '/var/lib/kms', [`${CONTROL_PLANE_NAME}-state`]: DATA_DIR } as const;

export function composeFile(topology: Topology): object {
  const services: Record<string, object> = { [VOLUME_INIT]: volumeInitService(), [KMS_NAME]: kmsService(topology.workflow) };
  const volumes: Record<string, object> = Object.fromEntries(Object.keys(HOST_USER_VOLUMES).map((name) => [name, {}]));
  const cp = podServices(CONTROL_PLANE_NAME);
  services[cp.pod] = podService();
  services[cp.envoy] = envoyService(CONTROL_PLANE_NAME, { healthy: [cp.app] });
  services[cp.app] = controlPlaneService(topology.workflow);
  for (const agent of topology.agents) {
    const names = podServices(agent.name);
    services[names.pod] = podService();
    services[names.envoy] = envoyService(agent.name, { started: [names.opa] });
    services[names.opa] = opaService(agent);
    services[names.app] = appService(topology.workflow, agent);
    volumes[`${agent.name}-sealed`] = {};
  }
  // internal: no route out of the mesh network. Every peer is on it (the pods, the KMS); an app that
  // tried to reach anything else directly, bypassing its Envoy, has nowhere to go.
  return { services, volumes, networks: { [MESH_NETWORK]: { internal: true } } };
}

/** A named volume mounted without Docker's copy-up, which would give the volume the image folder's owner (1000:1000). */
function volumeMount(source: string, target: string): object {
  return { type: 'volume', source, target, volume: { nocopy: true } };
}

/**
 * One-shot, before the KMS and the control plane: root with CAP_CHOWN alone, no network, gives
 * their state volumes to REELMESH_UID:REELMESH_GID (the user they run as, the one who ran
 * `reelmesh certs`), so any uid (501 on a Mac) can write its state. Its dependants wait for it to
 * exit 0 (depends_on condition service_completed_successfully).
 */
function volumeInitService(): object {
  const mounts = Object.keys(HOST_USER_VOLUMES).map((name) => `/volumes/${name}`);
  return {
    image: composeImageString(NODE_IMAGE, 'NODE_DIGEST'),
    user: '0:0',
    entrypoint: ['chown', HOST_USER, ...mounts],
    network_mode: 'none',
    volumes: Object.keys(HOST_USER_VOLUMES).map((name) => volumeMount(name, `/volumes/${name}`)),
    // No restart: policy (the default, "no"): it runs once per `up`.
    ...hardened,
    cap_add: ['CHOWN'],
  };
}

const afterVolumeInit = { [VOLUME_INIT]: { condition: 'service_completed_successfully' } };

function kmsService(wf: Workflow): object {
  return {
    image: composeImageString(reelmeshImage(KMS_NAME), digestVariable(KMS_NAME)),
    build: { context: '.', dockerfile: `docker/${KMS_NAME}.Dockerfile` },
    user: HOST_USER,
    depends_on: afterVolumeInit,
    environment: {
      REELMESH_KMS_DATA_DIR: HOST_USER_VOLUMES[`${KMS_NAME}-state`],
      REELMESH_KMS_HOST: '0.0.0.0',
      REELMESH_KMS_PORT: String(KMS_PORT),
      REELMESH_KMS_REGION: KMS_REGION,
      REELMESH_KMS_PRINCIPALS_FILE: `/run/kms/${CERTS_LAYOUT.principals.slice(CERTS_LAYOUT.kmsDir.length + 1)}`,
      REELMESH_KMS_WORKFLOW: WORKFLOW_IN_IMAGE,
      // The control plane's ledger seals with its own principal, as the owner's (the local runtime's too).
      REELMESH_KMS_PLATFORM_AGENTS: `${LEDGER_AGENT}:${ownerOf(wf).actor}`,
    },
    volumes: [volumeMount(`${KMS_NAME}-state`, HOST_USER_VOLUMES[`${KMS_NAME}-state`]), `${certs(CERTS_LAYOUT.kmsDir)}:/run/kms:ro`],
    tmpfs: ['/tmp'],
    networks: [MESH_NETWORK],
    // The KMS answers only signed POSTs: it is healthy when it accepts connections.
    healthcheck: { test: ['CMD', 'node', '-e', nodeTcpProbe(KMS_PORT)], interval: '5s', timeout: '3s', retries: 3, start_period: '30s' },
    restart: RESTART,
    ...hardened,
  };
}

/**
 * The pod sandbox: a pause container holds the network namespace (the service name is the pod's
 * host name on the mesh network) and does nothing else, so it does not die with a process of the pod.
 */
function podService(): object {
  return {
    image: composeImageString(PAUSE_IMAGE, 'PAUSE_DIGEST'),
    user: '65535:65535',
    networks: [MESH_NETWORK],
    restart: RESTART,
    ...hardened,
  };
}

/**
 * Envoy, the pod's proxy (istio-proxy in a cluster). It mounts its bootstrap, the SDS files and its
 * pod's certificate folder (a folder, not files: a renewal swaps the `current` link inside it, which
 * a file bind mount would not show). Healthy when Envoy is live (admin /ready) and, in an agent pod,
 * the pod's OPA has its policy (OPA's image has no shell to check itself; Envoy's inbound is
 * fail-closed without it anyway): the app starts once both are.
 */
function envoyService(pod: string, after: { started?: string[]; healthy?: string[] }): object {
  const names = podServices(pod);
  const checks = [{ port: ENVOY_ADMIN_PORT, path: '/ready' }, ...(after.started?.length ? [{ port: OPA_DIAGNOSTIC_PORT, path: '/health?plugins' }] : [])];
  return {
    image: composeImageString(ENVOY_IMAGE, 'ENVOY_DIGEST'),
    command: ['envoy', '-c', '/etc/envoy/envoy.yaml', '--log-level', 'warn'],
    user: HOST_USER,
    network_mode: `service:${names.pod}`,
    depends_on: {
      [names.pod]: { condition: 'service_started' },
      ...Object.fromEntries((after.started ?? []).map((name) => [name, { condition: 'service_started' }])),
      ...Object.fromEntries((after.healthy ?? []).map((name) => [name, { condition: 'service_healthy' }])),
    },
    volumes: [
      `./${envoyConfigPath(pod)}:/etc/envoy/envoy.yaml:ro`,
      `./${SDS_DIR}:${SDS_IN_CONTAINER}:ro`,
      `${certs(CERTS_LAYOUT.envoyDir(pod))}:${CERTS_IN_CONTAINER}:ro`,
    ],
    tmpfs: ['/tmp'],
    healthcheck: {
      test: ['CMD', 'bash', '-c', bashHttpProbe(checks)],
      interval: '5s',
      timeout: '3s',
      retries: 3,
      start_period: '30s',
    },
    restart: RESTART,
    ...hardened,
  };
}

function opaService(agent: AgentPlacement): object {
  const names = podServices(agent.name);
  return {
    image: composeImageString(OPA_ENVOY_IMAGE, 'OPA_DIGEST'),
    network_mode: `service:${names.pod}`,
    depends_on: [names.pod],
    command: [
      ...OPA_RUN,
      '--config-file=/config/config.yaml',
      `--addr=localhost:${OPA_API_PORT}`,
      `--diagnostic-addr=127.0.0.1:${OPA_DIAGNOSTIC_PORT}`,
      // Only the owner's signed bundle, signed by `reelmesh certs` with the owner's key.
      ...opaSignedBundleArgs('/policy', '/policy'),
    ],
    // The bundle and the owner's PUBLIC key: certs' policy/ folder holds nothing else.
    volumes: [`${certs(CERTS_LAYOUT.policyDir)}:/policy:ro`, `./${OPA_CONFIG_PATH}:/config/config.yaml:ro`],
    restart: RESTART,
    ...hardened,
  };
}

/** Compose has no secret references for variables: secrets come from env files, literals stay inline. */
function splitEnvironment(env: Record<string, string | { name: string }>): { environment: Record<string, string>; env_file: string[] } {
  const environment = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  const env_file = [...new Set(Object.values(env).flatMap((value) => (typeof value === 'string' ? [] : [value.name])))];
  return { environment, env_file };
}

/** The pod's KMS credentials (REELMESH_KMS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY), written by `reelmesh certs`. */
function kmsCredentials(pod: string) {
  const file = certs(CERTS_LAYOUT.kmsEnv(pod));
  return {
    accessKeyId: { from: 'secret' as const, name: file, key: KMS_ENV.accessKeyId },
    secretAccessKey: { from: 'secret' as const, name: file, key: KMS_ENV.secretAccessKey },
  };
}

/** The control plane's command line in Compose (the same flags as in the cluster, paths of this pod). */
export function composeControlPlaneArgs(wf: Workflow): string[] {
  // Loopback only: the pod's Envoy is the one way in, and it sets who calls (XFCC).
  return controlPlaneCommand(wf, { listen: `127.0.0.1:${CONTROL_PLANE_PORT}`, caDir: '/run/ca', policyBundleDir: '/policy', policyKeyDir: '/policy' });
}

/**
 * The owner's control plane: the CA (cert + key) to issue the apps' signing SVIDs, the signed bundle
 * with its public key, its own KMS credentials (the ledger's principal) and its state volume.
 */
function controlPlaneService(wf: Workflow): object {
  const names = podServices(CONTROL_PLANE_NAME);
  const workflowKey = aliasKeyRefs(wf).workflowKey;
  const env = kmsEnvironment<string | { from: 'secret'; name: string; key: string }>({
    endpoint: `http://${KMS_NAME}:${KMS_PORT}`,
    region: KMS_REGION,
    // Seals the ledger under the owner's workflow key and trusts only that key (as locally).
    keyId: workflowKey,
    allowedKeyIds: workflowKey,
    ...kmsCredentials(CONTROL_PLANE_NAME),
  });
  return {
    image: composeImageString(reelmeshImage(CONTROL_PLANE_NAME), digestVariable(CONTROL_PLANE_NAME)),
    build: { context: '.', dockerfile: `docker/${CONTROL_PLANE_NAME}.Dockerfile` },
    command: composeControlPlaneArgs(wf),
    user: HOST_USER,
    network_mode: `service:${names.pod}`,
    depends_on: {
      [names.pod]: { condition: 'service_started' },
      [KMS_NAME]: { condition: 'service_healthy' },
      ...afterVolumeInit,
    },
    ...splitEnvironment(env),
    volumes: [
      volumeMount(`${CONTROL_PLANE_NAME}-state`, HOST_USER_VOLUMES[`${CONTROL_PLANE_NAME}-state`]),
      `${certs(CERTS_LAYOUT.caDir)}:/run/ca:ro`,
      `${certs(CERTS_LAYOUT.policyDir)}:/policy:ro`,
    ],
    tmpfs: ['/tmp'],
    healthcheck: {
      test: ['CMD', 'node', '-e', nodeHttpProbe(CONTROL_PLANE_PORT, LIVENESS_PATH)],
      interval: '5s',
      timeout: '3s',
      retries: 3,
      start_period: '30s',
    },
    restart: RESTART,
    // The last audit events of the stopping apps still arrive: stopped after them (they depend on its Envoy).
    stop_grace_period: '30s',
    ...hardened,
  };
}

/** An agent's environment in Compose: the one shared function, with this target's addresses and key names. */
export function composeAgentEnvironment(workflow: Workflow, agent: string) {
  return agentEnvironment(workflow, agent, {
    workflowPath: WORKFLOW_IN_IMAGE,
    dataDir: `${DATA_DIR}/objects`,
    // Loopback only: the pod's Envoy is the one way in.
    listen: `127.0.0.1:${APP_PORT}`,
    next: { outboundProxy: `http://127.0.0.1:${ENVOY_OUTBOUND_PORT}` },
    // Drains within the pod's termination grace (a job in flight finishes and is handed on).
    drainDeadlineMs: APP_DRAIN_SECONDS * 1000,
    ownerDirs: { ingest: `${DATA_DIR}/ingest`, export: `${DATA_DIR}/export` },
    // The control plane knows the pod by its Envoy's client certificate: no bootstrap or audit token.
    identity: { controlPlane: COMPOSE_CONTROL_PLANE_URL },
    audit: { url: COMPOSE_CONTROL_PLANE_URL },
    kms: {
      endpoint: `http://${KMS_NAME}:${KMS_PORT}`,
      region: KMS_REGION,
      ...commaJoined(agentKmsKeys(workflow, agent, aliasKeyRefs(workflow))),
      ...kmsCredentials(agent),
    },
  });
}

function commaJoined(keys: { keyId: string; allowedKeyIds: string[]; assetKeyId?: string }) {
  return { keyId: keys.keyId, allowedKeyIds: keys.allowedKeyIds.join(','), ...(keys.assetKeyId ? { assetKeyId: keys.assetKeyId } : {}) };
}

function appService(workflow: Workflow, agent: AgentPlacement): object {
  const names = podServices(agent.name);
  const cp = podServices(CONTROL_PLANE_NAME);
  return {
    image: composeImageString(reelmeshImage(agent.app), digestVariable(agent.app)),
    build: { context: '.', dockerfile: `docker/${agent.app}.Dockerfile` },
    network_mode: `service:${names.pod}`,
    // Started once its pod's proxy and policy are up, the KMS takes connections (it seals every
    // chunk) and the control plane answers (its signing identity, its audit events); the pod
    // sandbox only needs to exist.
    depends_on: {
      [names.pod]: { condition: 'service_started' },
      [names.envoy]: { condition: 'service_healthy' },
      [KMS_NAME]: { condition: 'service_healthy' },
      [cp.envoy]: { condition: 'service_healthy' },
    },
    // REELMESH_KMS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY come from the env file `reelmesh certs` wrote.
    ...splitEnvironment(composeAgentEnvironment(workflow, agent.name)),
    volumes: [`${agent.name}-sealed:${DATA_DIR}`],
    tmpfs: ['/tmp'],
    // Readiness, as the kubelet's readinessProbe: healthy once resumed from the sealed volume.
    healthcheck: {
      test: ['CMD', 'node', '-e', nodeHttpProbe(APP_PORT, READINESS_PATH)],
      interval: '5s',
      timeout: '3s',
      retries: 3,
      start_period: `${APP_STARTUP_SECONDS}s`,
    },
    restart: RESTART,
    // SIGTERM: the app drains (its job in flight and that job's handoffs) before SIGKILL.
    // Compose stops it before the Envoy it depends on, as native sidecars stop after the app.
    stop_grace_period: `${TERMINATION_GRACE_SECONDS}s`,
    ...hardened,
  };
}
