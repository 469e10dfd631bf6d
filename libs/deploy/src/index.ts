// @reelmesh/deploy: Kubernetes, Istio, Compose, Envoy and Dockerfiles generated from the workflow,
// the Compose mesh certificates, and the esbuild bundling behind every app's Nx build target.
export type { DeployFile } from './generated-file';
export {
  ACCESS_MATRIX_FILE,
  COMPOSE_FILE,
  GENERATED_ROOTS,
  isGeneratedContent,
  orphanedFiles,
  removeFiles,
  renderDeployFiles,
  renderGeneratedFiles,
  renderRepoGeneratedFiles,
  writeGeneratedFiles,
  staleFiles,
  writeDeployFiles,
} from './deploy-files';
export { topologyOf, istioPrincipal, type AgentPlacement, type Topology } from './topology';
export { egressHosts } from './istio/istio-resources';
export { DEFAULT_CERT_LIFETIME_HOURS, issueComposeCerts, parseLifetime, type IssueCertsOptions, type IssuedCerts } from './certs';
export { BUNDLER_VERSION, bundleProgram, bundleProgramSet, entryOf, type BundleOptions, type ProgramSet } from './bundle';
export { COMPOSE_CERTS_DIR } from './compose/compose-file';
export * from './settings';
export { ENVOY_IMAGE, NODE_IMAGE, OPA_ENVOY_IMAGE, REELMESH_VERSION, imageString, reelmeshImage, type ImageRef } from './images';
// Reading what was rendered, as Compose and Kubernetes will (specs, the cross-target parity test).
export { certsFilesSeenBy, envFileReader, serviceEnvironment, serviceMounts, type ComposeDocument, type ComposeService } from './compose/compose-inspect';
export { composeControlPlaneArgs, COMPOSE_CONTROL_PLANE_URL, envoyConfigPath, OPA_CONFIG_PATH, podServices } from './compose/compose-file';
export { containerEnv, containerOf, deploymentOf, mountedSources, podSpecOf, workloadSpiffeId, type RenderedObject } from './k8s/inspect';
export { controlPlaneArgs, controlPlaneUrl } from './k8s/control-plane-manifests';
export { AGENT_CONTAINER } from './k8s/agent-manifests';
export { README_AGENTS_END, README_AGENTS_START, README_FILE, readmeAgentsTable, renderReadmeAgents } from './readme-section';
