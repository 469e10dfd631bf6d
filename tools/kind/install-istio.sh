#!/usr/bin/env bash
# Install Istio with ReelMesh's meshConfig: trust domain of the workflow, REGISTRY_ONLY egress,
# the in-pod OPA as ext_authz provider (failOpen false).
source "$(dirname "$0")/lib.sh"
need istioctl "https://istio.io/latest/docs/setup/getting-started/"
istioctl install -y -f "$ROOT/istio/install/istio-operator-reelmesh.yaml"
kubectl -n istio-system rollout status deploy/istiod --timeout=180s
