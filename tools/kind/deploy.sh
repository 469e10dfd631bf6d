#!/usr/bin/env bash
# Deploy the kind overlay (namespaces, agents, the owner's control plane, the local KMS, Istio
# policies), then publish what git never holds from the `reelmesh certs` folder with the generated
# k8s/published/kind kustomization: the owner's signed policy bundle and its public key
# (ConfigMaps in every actor namespace), the control plane's CA and every workload's local-KMS
# credentials (Secrets), the KMS principals (docs/deploy.md#what-the-cluster-needs-at-deploy-time).
# OWNER_CERTS: keep the CA and the owner's bundle key across deploys (default .reelmesh/certs).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# The agents' OPA and istio-proxy are native sidecars (init containers with restartPolicy Always):
# Kubernetes >= 1.29, where they are on by default. Older API servers would drop the field.
minor="$(kubectl version -o json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(parseInt(JSON.parse(s).serverVersion.minor,10)))")"
[ "$minor" -ge 29 ] || { echo "kind: Kubernetes >= 1.29 is required (native sidecars); the cluster runs 1.$minor" >&2; exit 1; }
creds="${OWNER_CERTS:-.reelmesh/certs}"
node tools/cli/bin/reelmesh.mjs certs --out "$creds" >/dev/null
# Namespaces and workloads first: pods wait (ContainerCreating) until the published objects exist.
kubectl apply -k k8s/overlays/kind
cp k8s/published/kind/kustomization.yaml "$creds/kustomization.yaml"
kubectl apply -k "$creds"
for ns in $(kubectl get namespaces -l app.kubernetes.io/part-of=reelmesh -o jsonpath='{.items[*].metadata.name}'); do
  kubectl -n "$ns" wait --for=condition=Available deploy --all --timeout=300s
done
