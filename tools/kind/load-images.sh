#!/usr/bin/env bash
# Build every image (Nx build + docker build) and load it into the kind nodes.
source "$(dirname "$0")/lib.sh"
need docker "https://docs.docker.com/engine/install/"
cd "$ROOT"
for app in owner vfx color hdr sound; do npx nx run "app-$app:docker-build"; done
npx nx run app-kms-local:docker-build
npx nx run app-control-plane:docker-build
for app in "${APPS[@]}"; do kind load docker-image --name "$CLUSTER" "reelmesh/$app:$VERSION"; done
