#!/usr/bin/env bash
# Build every image (Nx build + docker build) and load it into the kind nodes.
source "$(dirname "$0")/lib.sh"
need docker "https://docs.docker.com/engine/install/"
cd "$ROOT"
# The workflow's apps, then the platform's.
workflow_list WORKFLOW_APPS apps
APPS=("${WORKFLOW_APPS[@]}" kms-local control-plane)
for app in "${APPS[@]}"; do npx nx run "app-$app:docker-build"; done
for app in "${APPS[@]}"; do kind load docker-image --name "$CLUSTER" "reelmesh/$app:$VERSION"; done
