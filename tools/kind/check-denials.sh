#!/usr/bin/env bash
# From inside the mesh, the calls the workflow forbids must be refused exactly as the mesh refuses
# them (docs/deploy.md#what-demosh-checks). Each call is made by the source agent's own app
# container, so it leaves through that pod's istio-proxy with that agent's identity:
# - no egress route: the destination is not one of the caller's next hops, so its Sidecar has no
#   route to it and REGISTRY_ONLY's catch-all (BlackHoleCluster) answers 502 (an HTTP port:
#   istio/istio#21385 shows the 502 for a host missing from the Sidecar's egress);
# - RBAC: the destination is a next hop (the route exists) but not for this step or artifact, so
#   the destination's policies (OPA via ext_authz, and the ALLOW list) answer 403.
source "$(dirname "$0")/lib.sh"
failed=0
# check <caller namespace> <caller> <url> <expected status> <why>
check() {
  local got
  got="$(kubectl -n "$1" exec "deploy/$2" -c agent -- node -e \
    "fetch(process.argv[1],{method:'POST',body:'x'}).then(r=>console.log(r.status),e=>console.log('error:'+(e.cause?.code??e.message)))" "$3")"
  if [ "$got" = "$4" ]; then
    echo "ok    $2 -> $3: $got ($5)"
  else
    echo "FAIL  $2 -> $3: $got, expected $4 ($5)" >&2
    failed=1
  fi
}
check vfx vfx-3 http://color.color.svc.cluster.local:8080/v1/handoffs/feature-film/grade/picture/0 502 "no egress: color is not a next hop of vfx-3"
check vfx vfx-2 http://color.color.svc.cluster.local:8080/v1/handoffs/feature-film/grade/sound/0 403 "RBAC: vfx-2 hands color picture, not sound"
check vfx vfx-2 http://color.color.svc.cluster.local:8080/v1/handoffs/feature-film/hdr-master/picture/0 403 "RBAC: vfx-2 hands color the grade step only"
[ "$failed" = 0 ] || { echo "kind: a forbidden call was not refused as expected" >&2; exit 1; }
