// Every image the deployments run, pinned by tag. The digest is resolved where images are built or
// pulled (tools/kind/pin-digests.sh, or DIGEST variables in Compose): a tag alone can be re-pushed.

export interface ImageRef {
  /** Repository, e.g. `openpolicyagent/opa`. */
  readonly name: string;
  readonly tag: string;
}

/** The version our own images are tagged with (the root package.json version). */
export const REELMESH_VERSION = '0.1.0';

/**
 * opa-envoy-plugin build of OPA 1.x: OPA plus the Envoy ext_authz gRPC server. At least 1.21.3: it
 * fixes a bundle-signature side-step (GHSA-g2pf-6v5v-qcc8); we also always pass an explicit key id.
 * What was verified (2026-11-30, without registry access): the advisory id and its fix are in OPA
 * v1.21.3's release notes; the tag follows opa-envoy-plugin's scheme (release `v<OPA version>-envoy`,
 * image `openpolicyagent/opa:<OPA version>-envoy`). That this exact tag was published was NOT
 * verified (the newest plugin release seen was v1.17.0-envoy): pinning its digest
 * (tools/kind/pin-digests.sh, OPA_DIGEST in Compose) fails on a tag that does not exist.
 */
export const OPA_ENVOY_IMAGE: ImageRef = { name: 'openpolicyagent/opa', tag: '1.21.3-envoy' };
export const ENVOY_IMAGE: ImageRef = { name: 'envoyproxy/envoy', tag: 'v1.34.1' };
/** Compose only: holds each pod's network namespace, as the pod sandbox does in Kubernetes. */
export const PAUSE_IMAGE: ImageRef = { name: 'registry.k8s.io/pause', tag: '3.10' };
/** Base of every ReelMesh image (Debian bookworm, Node 20). */
export const NODE_IMAGE: ImageRef = { name: 'node', tag: '20.19.2-bookworm-slim' };

/** The image of one ReelMesh program (an app of the workflow, or `kms-local`). */
export function reelmeshImage(program: string): ImageRef {
  return { name: `reelmesh/${program}`, tag: REELMESH_VERSION };
}

export function imageString(image: ImageRef): string {
  return `${image.name}:${image.tag}`;
}

/** Compose form: `${NAME_DIGEST:-}` lets a pinned `@sha256:...` be supplied at build/pull time. */
export function composeImageString(image: ImageRef, digestVariable: string): string {
  return `${imageString(image)}\${${digestVariable}:-}`;
}
