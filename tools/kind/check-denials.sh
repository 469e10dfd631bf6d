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
# The calls come from the workflow (never listed by hand): `reelmesh gen --list denials` prints one
# forbidden call of each kind as "<kind> <caller> <caller's namespace> <target> <target's namespace> <path>".
workflow_list DENIALS denials
for line in "${DENIALS[@]}"; do
  read -r kind caller caller_ns target target_ns path <<<"$line"
  url="http://$target.$target_ns.svc.cluster.local:8080$path"
  case "$kind" in
    no-route) check "$caller_ns" "$caller" "$url" 502 "no egress: $target is not a next hop of $caller" ;;
    wrong-artifact) check "$caller_ns" "$caller" "$url" 403 "RBAC: $caller hands $target other artifacts for this step" ;;
    wrong-step) check "$caller_ns" "$caller" "$url" 403 "RBAC: $caller hands $target other steps" ;;
    *) echo "FAIL  unknown kind of forbidden call from reelmesh gen --list denials: $line" >&2; failed=1 ;;
  esac
done
[ "$failed" = 0 ] || { echo "kind: a forbidden call was not refused as expected" >&2; exit 1; }
