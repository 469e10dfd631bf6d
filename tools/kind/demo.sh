#!/usr/bin/env bash
# Run the demo on kind: create, install, load, deploy, then check from inside the mesh that the
# calls the workflow forbids are refused (tools/kind/check-denials.sh; what each status means:
# docs/deploy.md#what-demosh-checks).
source "$(dirname "$0")/lib.sh"
here="$(dirname "$0")"
"$here/create-cluster.sh"
"$here/install-istio.sh"
"$here/load-images.sh"
"$here/deploy.sh"
"$here/check-denials.sh"
echo "kind demo deployed and checked; docs/deploy.md#kind-step-by-step says what runs where."
