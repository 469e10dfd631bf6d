#!/usr/bin/env bash
# Deploy the kind overlay: per-agent KMS credentials and the KMS principals as Secrets (never in
# git), the owner's signed policy bundle and its public key as ConfigMaps in every actor namespace
# (OPA loads nothing else), then k8s/overlays/kind (namespaces, agents, local KMS, Istio policies).
# OWNER_CERTS: keep the owner's bundle key across deploys (default .reelmesh/certs).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# The agents' OPA and istio-proxy are native sidecars (init containers with restartPolicy Always):
# Kubernetes >= 1.29, where they are on by default. Older API servers would drop the field.
minor="$(kubectl version -o json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(parseInt(JSON.parse(s).serverVersion.minor,10)))")"
[ "$minor" -ge 29 ] || { echo "kind: Kubernetes >= 1.29 is required (native sidecars); the cluster runs 1.$minor" >&2; exit 1; }
creds="${OWNER_CERTS:-.reelmesh/certs}"
node tools/cli/bin/reelmesh.mjs certs --out "$creds" >/dev/null
for ns in reelmesh-kms $(node -e "const y=require('yaml');const w=y.parse(require('fs').readFileSync('policies/workflow.yaml','utf8'));console.log(w.actors.map(a=>a.name).join(' '))"); do
  kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
done
kubectl -n reelmesh-kms create secret generic kms-local-principals --from-file=principals.json="$creds/kms/principals.json" --dry-run=client -o yaml | kubectl apply -f -
node -e "const y=require('yaml');const w=y.parse(require('fs').readFileSync('policies/workflow.yaml','utf8'));for(const a of w.agents)console.log(a.name+' '+a.actor)" | while read -r agent actor; do
  set -a; source "$creds/$agent/kms.env"; set +a
  kubectl -n "$actor" create secret generic "$agent-kms-credentials" \
    --from-literal=accessKeyId="$REELMESH_KMS_ACCESS_KEY_ID" --from-literal=secretAccessKey="$REELMESH_KMS_SECRET_ACCESS_KEY" \
    --dry-run=client -o yaml | kubectl apply -f -
done
for ns in $(node -e "const y=require('yaml');const w=y.parse(require('fs').readFileSync('policies/workflow.yaml','utf8'));console.log(w.actors.map(a=>a.name).join(' '))"); do
  kubectl -n "$ns" create configmap reelmesh-policy-bundle --from-file=reelmesh.tar.gz="$creds/policy/reelmesh.tar.gz" --dry-run=client -o yaml | kubectl apply -f -
  kubectl -n "$ns" create configmap reelmesh-owner-bundle-key --from-file=owner-bundle.pub.pem="$creds/policy/owner-bundle.pub.pem" --dry-run=client -o yaml | kubectl apply -f -
done
kubectl apply -k k8s/overlays/kind
for ns in reelmesh-kms owner vfx color hdr sound; do kubectl -n "$ns" wait --for=condition=Available deploy --all --timeout=300s; done
