#!/usr/bin/env bash
# Create the single kind cluster (every actor a namespace).
source "$(dirname "$0")/lib.sh"
need kind "https://kind.sigs.k8s.io"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 120s
kubectl config use-context "kind-$CLUSTER"
