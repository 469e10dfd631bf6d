#!/usr/bin/env bash
# Install Istio with ReelMesh's meshConfig: trust domain of the workflow, REGISTRY_ONLY egress,
# the in-pod OPA as ext_authz provider (failOpen false, 503 on error), and the Istio CNI plugin.
source "$(dirname "$0")/lib.sh"
need istioctl "https://istio.io/latest/docs/setup/getting-started/"
# The IstioOperator pins no version: istioctl installs its own. security.istio.io/v1 needs >= 1.22
# (ISTIO_MIN_VERSION in libs/deploy/src/settings.ts).
ISTIO_MIN_VERSION="1.22"
have="$(istioctl version --remote=false --short 2>/dev/null | head -n1 | sed -E 's/^[^0-9]*([0-9]+\.[0-9]+).*/\1/')"
if [ "$(printf '%s\n%s\n' "$ISTIO_MIN_VERSION" "$have" | sort -V | head -n1)" != "$ISTIO_MIN_VERSION" ]; then
  echo "kind: istioctl $have is older than $ISTIO_MIN_VERSION (security.istio.io/v1 APIs)" >&2
  exit 1
fi
# The CNI DaemonSet mounts host paths, which only the privileged Pod Security level allows; the
# ReelMesh namespaces enforce baseline (k8s/base/*/namespace.yaml).
kubectl create namespace istio-system --dry-run=client -o yaml | kubectl apply -f -
kubectl label --overwrite namespace istio-system pod-security.kubernetes.io/enforce=privileged
istioctl install -y -f "$ROOT/istio/install/istio-operator-reelmesh.yaml"
kubectl -n istio-system rollout status deploy/istiod --timeout=180s
kubectl -n istio-system rollout status daemonset/istio-cni-node --timeout=180s
