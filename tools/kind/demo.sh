#!/usr/bin/env bash
# Run the demo on kind: create, install, load, deploy, then check the access matrix from inside
# the mesh (allowed edges answer, everything else gets 403 RBAC: access denied).
source "$(dirname "$0")/lib.sh"
here="$(dirname "$0")"
"$here/create-cluster.sh"
"$here/install-istio.sh"
"$here/load-images.sh"
"$here/deploy.sh"
# A forbidden call (vfx-3 -> color) must be denied by the mesh before it reaches the app.
code="$(kubectl -n vfx exec deploy/vfx-3 -c agent -- node -e \
  "fetch('http://color.color.svc.cluster.local:8080/v1/handoffs/feature-film/grade/picture/0',{method:'POST'}).then(r=>console.log(r.status),e=>console.log('blocked: '+e.cause?.code))")"
echo "vfx-3 -> color: $code (expected 403 or blocked)"
case "$code" in 403|blocked*) ;; *) echo "demo: FORBIDDEN CALL WAS NOT DENIED" >&2; exit 1 ;; esac
echo "kind demo deployed; see docs/deploy.md to drive a workflow run from the owner pod."
