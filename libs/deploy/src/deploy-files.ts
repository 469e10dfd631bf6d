// Everything `reelmesh gen` derives for deployment, as exact bytes: k8s/, istio/, docker-compose.yml,
// docker/ (Dockerfiles, Envoy and OPA configs) and the expected access matrix.
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { writeAtomically } from '@reelmesh/policy';
import { accessMatrix, loadWorkflow, type Workflow } from '@reelmesh/workflow';
import { COMPOSE_CONTROL_PLANE_URL, composeFile, envoyConfigPath, OPA_CONFIG_PATH } from './compose/compose-file';
import { controlPlaneEnvoyConfig, envoyConfig, sdsFiles } from './compose/envoy-config';
import { dockerfile, dockerignore } from './docker/dockerfile';
import type { DeployFile } from './generated-file';
import { istioFiles } from './istio/istio-files';
import { k8sFiles } from './k8s/k8s-files';
import { opaConfig } from './opa-config';
import { yamlFile } from './render-yaml';
import { CONTROL_PLANE_NAME, GENERATED_HEADER, KMS_NAME } from './settings';
import { topologyOf } from './topology';

export const ACCESS_MATRIX_FILE = 'policies/generated/access-matrix.json';
export const COMPOSE_FILE = 'docker-compose.yml';
export const WORKFLOW_FILE = 'policies/workflow.yaml';

export function renderDeployFiles(wf: Workflow): DeployFile[] {
  const topology = topologyOf(wf);
  const files: DeployFile[] = [
    { path: ACCESS_MATRIX_FILE, content: accessMatrixJson(wf) },
    ...k8sFiles(topology),
    ...istioFiles(topology),
    { path: COMPOSE_FILE, content: yamlFile([composeFile(topology)], 'Run `reelmesh certs` first; see docs/deploy.md.') },
    // Every pod's OPA ships its decision log to the control plane through its Envoy's egress listener.
    { path: OPA_CONFIG_PATH, content: yamlFile([opaConfig({ ledgerUrl: COMPOSE_CONTROL_PLANE_URL })]) },
    { path: envoyConfigPath(CONTROL_PLANE_NAME), content: yamlFile([controlPlaneEnvoyConfig(topology)]) },
    ...sdsFiles().map((file) => ({ path: file.path, content: yamlFile([file.doc]) })),
  ];
  for (const agent of topology.agents) files.push({ path: envoyConfigPath(agent.name), content: yamlFile([envoyConfig(topology, agent)]) });
  for (const program of [...topology.apps, KMS_NAME, CONTROL_PLANE_NAME]) {
    const assets = assetsOf(wf, program);
    files.push({ path: `docker/${program}.Dockerfile`, content: dockerfile(program, assets) });
    files.push({ path: `docker/${program}.Dockerfile.dockerignore`, content: dockerignore(program, assets) });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The colourist's LUT folder goes into the image of the app that grades, and no other. */
function assetsOf(wf: Workflow, program: string): string[] {
  const grades = wf.steps.some((step) => step.job === 'grade' && wf.agents.find((agent) => agent.name === step.agent)?.app === program);
  return grades ? [posix.dirname(wf.media.lut.ref)] : [];
}

function accessMatrixJson(wf: Workflow): string {
  const doc = { _generated: GENERATED_HEADER.replace(/^# /, ''), workflow: wf.metadata.id, rules: accessMatrix(wf) };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Paths whose committed bytes differ from `files` (missing files included). */
export function staleFiles(repoRoot: string, files: readonly DeployFile[]): string[] {
  return files
    .filter((file) => {
      const path = join(repoRoot, file.path);
      return !existsSync(path) || readFileSync(path, 'utf8') !== file.content;
    })
    .map((file) => file.path);
}

/** Regenerates the deployment files from <repoRoot>/policies/workflow.yaml; returns the paths written. */
export function writeDeployFiles(repoRoot: string, wf: Workflow = loadWorkflow(join(repoRoot, WORKFLOW_FILE))): string[] {
  const files = renderDeployFiles(wf);
  for (const file of files) writeAtomically(join(repoRoot, file.path), file.content);
  return files.map((file) => file.path);
}

