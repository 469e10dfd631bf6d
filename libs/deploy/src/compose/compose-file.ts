// docker-compose.yml for laptop integration: each pod is one network namespace held by a pause
// container (service <agent>, the pod sandbox), joined by Envoy (<agent>-envoy), the OPA-Envoy
// sidecar (<agent>-opa) and the app (<agent>-app) via network_mode: service:<agent>. Only Envoy's
// mTLS port faces the Compose network. Like a kubelet, Docker restarts any container that dies
// (restart: unless-stopped); because the pause container holds the namespace, a restarted Envoy,
// OPA or app rejoins the same pod network (were Envoy the holder, its restart would cut the others off).
import { agentEnvironment } from '@reelmesh/agent-kit';
import { KMS_ENV } from '@reelmesh/envelope';
import { workflowKeyAlias } from '@reelmesh/kms-local';
import { ownerOf, type Workflow } from '@reelmesh/workflow';
import { composeImageString, ENVOY_IMAGE, OPA_ENVOY_IMAGE, PAUSE_IMAGE, reelmeshImage } from '../images';
import { bashHttpProbe, nodeHttpProbe, nodeTcpProbe } from '../probes';
import {
  APP_PORT,
  APP_STARTUP_SECONDS,
  DATA_DIR,
  KMS_NAME,
  KMS_PORT,
  KMS_REGION,
  OPA_API_PORT,
  OPA_DIAGNOSTIC_PORT,
  READINESS_PATH,
  TERMINATION_GRACE_SECONDS,
  WORKFLOW_IN_IMAGE,
  APP_DRAIN_SECONDS,
} from '../settings';
import type { AgentPlacement, Topology } from '../topology';
import { OPA_RUN, opaSignedBundleArgs } from '../opa-config';
import { CERTS_IN_CONTAINER, ENVOY_ADMIN_PORT, ENVOY_OUTBOUND_PORT } from './envoy-config';

/** Where `reelmesh certs` writes (gitignored .reelmesh/), relative to the repository root. */
export const COMPOSE_CERTS_DIR = '.reelmesh/certs';
export const envoyConfigPath = (agent: string) => `docker/envoy/${agent}.yaml`;
export const OPA_CONFIG_PATH = 'docker/opa/config.yaml';
/** The one Compose network: the pods' sandboxes and the KMS. */
export const MESH_NETWORK = 'mesh';
/** Key files are private to the user who ran `reelmesh certs`; containers that read them run as that user. */
const HOST_USER = '${REELMESH_UID:-1000}:${REELMESH_GID:-1000}';

const digestVariable = (program: string) => `REELMESH_${program.toUpperCase().replace(/-/g, '_')}_DIGEST`;

const hardened = {
  read_only: true,
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
};
/** Every container comes back when it dies (a kubelet's restartPolicy Always), unless stopped on purpose. */
const RESTART = 'unless-stopped';
/** Names of one pod's services. */
export const podServices = (agent: string) => ({ pod: agent, envoy: `${agent}-envoy`, opa: `${agent}-opa`, app: `${agent}-app` });

export function composeFile(topology: Topology): object {
  const services: Record<string, object> = { [KMS_NAME]: kmsService() };
  const volumes: Record<string, object> = { [`${KMS_NAME}-state`]: {} };
  for (const agent of topology.agents) {
    const names = podServices(agent.name);
    services[names.pod] = podService();
    services[names.envoy] = envoyService(agent);
    services[names.opa] = opaService(agent);
    services[names.app] = appService(topology.workflow, agent);
    volumes[`${agent.name}-sealed`] = {};
  }
  // internal: no route out of the mesh network. Every peer is on it (the pods, the KMS); an app that
  // tried to reach anything else directly, bypassing its Envoy, has nowhere to go.
  return { services, volumes, networks: { [MESH_NETWORK]: { internal: true } } };
}

function kmsService(): object {
  return {
    image: composeImageString(reelmeshImage(KMS_NAME), digestVariable(KMS_NAME)),
    build: { context: '.', dockerfile: `docker/${KMS_NAME}.Dockerfile` },
    user: HOST_USER,
    environment: {
      REELMESH_KMS_DATA_DIR: '/var/lib/kms',
      REELMESH_KMS_HOST: '0.0.0.0',
      REELMESH_KMS_PORT: String(KMS_PORT),
      REELMESH_KMS_REGION: KMS_REGION,
      REELMESH_KMS_PRINCIPALS_FILE: '/run/kms/principals.json',
      REELMESH_KMS_WORKFLOW: WORKFLOW_IN_IMAGE,
    },
    volumes: [`${KMS_NAME}-state:/var/lib/kms`, `./${COMPOSE_CERTS_DIR}/kms:/run/kms:ro`],
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
 * Envoy, the pod's proxy (istio-proxy in a cluster). Healthy when Envoy is live (admin /ready)
 * and the pod's OPA has its policy (OPA's image has no shell to check itself; Envoy's inbound
 * is fail-closed without it anyway): the app starts once both are.
 */
function envoyService(agent: AgentPlacement): object {
  const names = podServices(agent.name);
  return {
    image: composeImageString(ENVOY_IMAGE, 'ENVOY_DIGEST'),
    command: ['envoy', '-c', '/etc/envoy/envoy.yaml', '--log-level', 'warn'],
    user: HOST_USER,
    network_mode: `service:${names.pod}`,
    depends_on: [names.pod, names.opa],
    volumes: [
      `./${envoyConfigPath(agent.name)}:/etc/envoy/envoy.yaml:ro`,
      `./${COMPOSE_CERTS_DIR}/ca.pem:${CERTS_IN_CONTAINER}/ca.pem:ro`,
      `./${COMPOSE_CERTS_DIR}/${agent.name}:${CERTS_IN_CONTAINER}/${agent.name}:ro`,
    ],
    tmpfs: ['/tmp'],
    healthcheck: {
      test: ['CMD', 'bash', '-c', bashHttpProbe([{ port: ENVOY_ADMIN_PORT, path: '/ready' }, { port: OPA_DIAGNOSTIC_PORT, path: '/health?plugins' }])],
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
    volumes: [`./${COMPOSE_CERTS_DIR}/policy:/policy:ro`, `./${OPA_CONFIG_PATH}:/config/config.yaml:ro`],
    restart: RESTART,
    ...hardened,
  };
}

/** Where `reelmesh certs` writes an agent's KMS credentials; Compose reads them as an env_file. */
const kmsEnvFile = (agent: string) => `./${COMPOSE_CERTS_DIR}/${agent}/kms.env`;

function appService(workflow: Workflow, agent: AgentPlacement): object {
  const env = agentEnvironment(workflow, agent.name, {
    workflowPath: WORKFLOW_IN_IMAGE,
    dataDir: `${DATA_DIR}/objects`,
    // Loopback only: the pod's Envoy is the one way in.
    listen: `127.0.0.1:${APP_PORT}`,
    next: { outboundProxy: `http://127.0.0.1:${ENVOY_OUTBOUND_PORT}` },
    // Drains within the pod's termination grace (a job in flight finishes and is handed on).
    drainDeadlineMs: APP_DRAIN_SECONDS * 1000,
    ownerDirs: { ingest: `${DATA_DIR}/ingest`, export: `${DATA_DIR}/export` },
    kms: {
      endpoint: `http://${KMS_NAME}:${KMS_PORT}`,
      region: KMS_REGION,
      keyId: workflowKeyAlias(ownerOf(workflow).actor),
      accessKeyId: { from: 'secret', name: kmsEnvFile(agent.name), key: KMS_ENV.accessKeyId },
      secretAccessKey: { from: 'secret', name: kmsEnvFile(agent.name), key: KMS_ENV.secretAccessKey },
    },
  });
  // Compose has no secret references for variables: secrets come from env files, literals stay inline.
  const environment = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  const envFiles = [...new Set(Object.values(env).flatMap((value) => (typeof value === 'string' ? [] : [value.name])))];
  const names = podServices(agent.name);
  return {
    image: composeImageString(reelmeshImage(agent.app), digestVariable(agent.app)),
    build: { context: '.', dockerfile: `docker/${agent.app}.Dockerfile` },
    network_mode: `service:${names.pod}`,
    // Started once its pod's proxy and policy are up and the KMS takes connections (it seals
    // every chunk); the pod sandbox only needs to exist.
    depends_on: {
      [names.pod]: { condition: 'service_started' },
      [names.envoy]: { condition: 'service_healthy' },
      [KMS_NAME]: { condition: 'service_healthy' },
    },
    environment,
    // REELMESH_KMS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, written by `reelmesh certs`.
    env_file: envFiles,
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
