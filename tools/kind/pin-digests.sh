#!/usr/bin/env bash
# Pin every image of an overlay to its digest (tags can be re-pushed; digests cannot).
# Usage: pin-digests.sh k8s/overlays/kind   (edits that overlay's kustomization.yaml in place;
# re-run `reelmesh gen` to go back to tags only).
source "$(dirname "$0")/lib.sh"
need kustomize "kubectl's built-in kustomize cannot edit; https://kubectl.docs.kubernetes.io/installation/kustomize/"
overlay="${1:?usage: pin-digests.sh <overlay dir>}"
cd "$ROOT/$overlay"
for ref in $(kubectl kustomize . | grep -E '^\s+image: ' | awk '{print $2}' | sort -u); do
  docker image inspect "$ref" >/dev/null 2>&1 || docker pull "$ref"
  digest="$(docker image inspect --format '{{index .RepoDigests 0}}' "$ref" 2>/dev/null || true)"
  if [ -z "$digest" ]; then echo "pin: $ref has no registry digest (local build?); left as tag" >&2; continue; fi
  kustomize edit set image "${ref%%:*}=${ref}@${digest##*@}"
done
