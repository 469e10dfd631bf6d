// Everything `reelmesh gen` derives for deployment, as exact bytes: k8s/, istio/, docker-compose.yml,
// docker/ (Dockerfiles, Envoy and OPA configs) and the expected access matrix.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { renderGeneratedPolicyFiles, writeAtomically } from '@reelmesh/policy';
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
import { README_FILE, renderReadmeAgents } from './readme-section';

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

/**
 * Everything `reelmesh gen` derives from the workflow, in one list: the policy data and vectors,
 * the deployment files, and the README with its agent table rendered from the workflow. `read`
 * gives a file's current text or undefined (the README section is rendered into the README as it is).
 * `reelmesh gen`, `gen --check` and `reelmesh contractor` all render through this one function.
 */
export function renderGeneratedFiles(wf: Workflow, read: (path: string) => string | undefined): DeployFile[] {
  const readme = read(README_FILE);
  return [
    // Policy first: the k8s policy ConfigMap copies what it writes.
    ...renderGeneratedPolicyFiles(wf),
    ...renderDeployFiles(wf),
    ...(readme === undefined ? [] : [{ path: README_FILE, content: renderReadmeAgents(wf, readme) }]),
  ];
}

/** renderGeneratedFiles for the repository at `repoRoot`. */
export function renderRepoGeneratedFiles(repoRoot: string, wf: Workflow): DeployFile[] {
  return renderGeneratedFiles(wf, (path) => (existsSync(join(repoRoot, path)) ? readFileSync(join(repoRoot, path), 'utf8') : undefined));
}

/**
 * `reelmesh gen`: writes every generated file whose bytes changed and deletes the orphans (generated
 * files no longer rendered, e.g. a removed agent's). Returns the paths written and deleted.
 */
export function writeGeneratedFiles(repoRoot: string, wf: Workflow): { written: string[]; deleted: string[] } {
  const files = renderRepoGeneratedFiles(repoRoot, wf);
  const changed = staleFiles(repoRoot, files);
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  for (const path of changed) writeAtomically(join(repoRoot, path), byPath.get(path) as string);
  const deleted = orphanedFiles(repoRoot, files);
  removeFiles(repoRoot, deleted);
  return { written: changed, deleted };
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

/**
 * Regenerates the deployment files from <repoRoot>/policies/workflow.yaml and deletes the orphans
 * (generated files no longer rendered, e.g. a removed agent's); returns the paths written.
 */
export function writeDeployFiles(repoRoot: string, wf: Workflow = loadWorkflow(join(repoRoot, WORKFLOW_FILE))): string[] {
  const files = renderDeployFiles(wf);
  for (const file of files) writeAtomically(join(repoRoot, file.path), file.content);
  removeFiles(repoRoot, orphanedFiles(repoRoot, files));
  return files.map((file) => file.path);
}

/**
 * The folders whose generated files `reelmesh gen` owns. A file under them is gen's if, and only
 * if, its first line is GENERATED_HEADER: anything else there (a hand-written file) is never touched.
 */
export const GENERATED_ROOTS: readonly string[] = ['k8s', 'istio', 'docker'];

/** Whether these bytes are a file `reelmesh gen` wrote (its first line is the generated header). */
export function isGeneratedContent(content: string): boolean {
  return content.startsWith(`${GENERATED_HEADER}\n`);
}

/**
 * Generated files under GENERATED_ROOTS that `files` (what gen renders now) no longer contains:
 * what is left of a removed agent, app or actor. Sorted paths relative to `repoRoot`.
 */
export function orphanedFiles(repoRoot: string, files: readonly { readonly path: string }[]): string[] {
  const rendered = new Set(files.map((file) => file.path));
  const orphans: string[] = [];
  const walk = (dir: string): void => {
    const abs = join(repoRoot, dir);
    if (!existsSync(abs)) return;
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !rendered.has(path) && isGeneratedContent(readFileSync(join(repoRoot, path), 'utf8'))) orphans.push(path);
    }
  };
  for (const root of GENERATED_ROOTS) walk(root);
  return orphans.sort();
}

/** Deletes `paths` (relative to `repoRoot`) and then every folder they leave empty, up to the repo root. */
export function removeFiles(repoRoot: string, paths: readonly string[]): void {
  for (const path of paths) {
    rmSync(join(repoRoot, path), { force: true });
    for (let dir = posix.dirname(path); dir !== '.' && dir !== '/'; dir = posix.dirname(dir)) {
      const abs = join(repoRoot, dir);
      if (!existsSync(abs) || readdirSync(abs).length > 0) break;
      rmdirSync(abs);
    }
  }
}

