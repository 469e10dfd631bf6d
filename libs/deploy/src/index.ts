// @reelmesh/deploy: Kubernetes, Istio, Compose, Envoy and Dockerfiles generated from the workflow,
// the Compose mesh certificates, and the esbuild bundling behind every app's Nx build target.
export type { DeployFile } from './generated-file';
export { ACCESS_MATRIX_FILE, COMPOSE_FILE, renderDeployFiles, staleFiles, writeDeployFiles } from './deploy-files';
export { topologyOf, istioPrincipal, type AgentPlacement, type Topology } from './topology';
export { egressHosts } from './istio/istio-resources';
export { issueComposeCerts, type IssueCertsOptions, type IssuedCerts } from './certs';
export { bundleProgram, entryOf, type BundleOptions } from './bundle';
export { COMPOSE_CERTS_DIR } from './compose/compose-file';
export * from './settings';
export { ENVOY_IMAGE, NODE_IMAGE, OPA_ENVOY_IMAGE, REELMESH_VERSION, imageString, reelmeshImage, type ImageRef } from './images';
