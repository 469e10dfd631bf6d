// docker-compose.yml for laptop integration: each pod is one network namespace owned by its Envoy
// (service <agent>), shared by the app (<agent>-app) and the OPA-Envoy sidecar (<agent>-opa) via
// network_mode: service:<agent>. Only Envoy's mTLS port faces the Compose network.
import { agentEnvironment } from '@reelmesh/agent-kit';
import { KMS_ENV } from '@reelmesh/envelope';
import { workflowKeyAlias } from '@reelmesh/kms-local';
import { ownerOf, type Workflow } from '@reelmesh/workflow';
import { composeImageString, ENVOY_IMAGE, OPA_ENVOY_IMAGE, reelmeshImage } from '../images';
import {
  APP_PORT,
  DATA_DIR,
  KMS_NAME,
  KMS_PORT,
  KMS_REGION,
  OPA_API_PORT,
  OPA_DIAGNOSTIC_PORT,
  TERMINATION_GRACE_SECONDS,
  WORKFLOW_IN_IMAGE,
} from '../settings';
import type { AgentPlacement, Topology } from '../topology';
import { opaSignedBundleArgs } from '../opa-config';
import { CERTS_IN_CONTAINER, ENVOY_OUTBOUND_PORT } from './envoy-config';

/** Where `reelmesh certs` writes (gitignored .reelmesh/), relative to the repository root. */
export const COMPOSE_CERTS_DIR = '.reelmesh/certs';
export const envoyConfigPath = (agent: string) => `docker/envoy/${agent}.yaml`;
export const OPA_CONFIG_PATH = 'docker/opa/config.yaml';
/** Key files are private to the user who ran `reelmesh certs`; containers that read them run as that user. */
const HOST_USER = '${REELMESH_UID:-1000}:${REELMESH_GID:-1000}';

const digestVariable = (program: string) => `REELMESH_${program.toUpperCase().replace(/-/g, '_')}_DIGEST`;

const hardened = {
  read_only: true,
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
};

export function composeFile(topology: Topology): object {
  const services: Record<string, object> = { [KMS_NAME]: kmsService() };
  const volumes: Record<string, object> = { [`${KMS_NAME}-state`]: {} };
  for (const agent of topology.agents) {
    services[agent.name] = podService(agent);
    services[`${agent.name}-opa`] = opaService(agent);
    services[`${agent.name}-app`] = appService(topology.workflow, agent);
    volumes[`${agent.name}-sealed`] = {};
  }
  return { services, volumes, networks: { mesh: {} } };
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
    networks: ['mesh'],
    ...hardened,
  };
}

/** The pod: Envoy holds the network namespace, like the pod sandbox plus istio-proxy in a cluster. */
function podService(agent: AgentPlacement): object {
  return {
    image: composeImageString(ENVOY_IMAGE, 'ENVOY_DIGEST'),
    command: ['envoy', '-c', '/etc/envoy/envoy.yaml', '--log-level', 'warn'],
    user: HOST_USER,
    volumes: [
      `./${envoyConfigPath(agent.name)}:/etc/envoy/envoy.yaml:ro`,
      `./${COMPOSE_CERTS_DIR}/ca.pem:${CERTS_IN_CONTAINER}/ca.pem:ro`,
      `./${COMPOSE_CERTS_DIR}/${agent.name}:${CERTS_IN_CONTAINER}/${agent.name}:ro`,
    ],
    tmpfs: ['/tmp'],
    networks: ['mesh'],
    ...hardened,
  };
}

function opaService(agent: AgentPlacement): object {
  return {
    image: composeImageString(OPA_ENVOY_IMAGE, 'OPA_DIGEST'),
    network_mode: `service:${agent.name}`,
    depends_on: [agent.name],
    command: [
      'run',
      '--server',
      '--config-file=/config/config.yaml',
      `--addr=localhost:${OPA_API_PORT}`,
      `--diagnostic-addr=127.0.0.1:${OPA_DIAGNOSTIC_PORT}`,
      // Only the owner's signed bundle, signed by `reelmesh certs` with the owner's key.
      ...opaSignedBundleArgs('/policy', '/policy'),
    ],
    volumes: [`./${COMPOSE_CERTS_DIR}/policy:/policy:ro`, `./${OPA_CONFIG_PATH}:/config/config.yaml:ro`],
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
  return {
    image: composeImageString(reelmeshImage(agent.app), digestVariable(agent.app)),
    build: { context: '.', dockerfile: `docker/${agent.app}.Dockerfile` },
    network_mode: `service:${agent.name}`,
    depends_on: [agent.name, `${agent.name}-opa`, KMS_NAME],
    environment,
    // REELMESH_KMS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, written by `reelmesh certs`.
    env_file: envFiles,
    volumes: [`${agent.name}-sealed:${DATA_DIR}`],
    tmpfs: ['/tmp'],
    stop_grace_period: `${TERMINATION_GRACE_SECONDS}s`,
    ...hardened,
  };
}
