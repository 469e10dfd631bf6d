# Shared by the kind scripts: repo root, cluster name, and a check for each tool they need.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${REELMESH_KIND_CLUSTER:-reelmesh}"
VERSION="$(node -p "require('$ROOT/package.json').version")"
# The workflow's apps (never listed by hand: they follow policies/workflow.yaml), then the platform's.
mapfile -t WORKFLOW_APPS < <(node "$ROOT/tools/cli/bin/reelmesh.mjs" gen --list apps)
[ "${#WORKFLOW_APPS[@]}" -gt 0 ] || { echo "kind: could not list the workflow's apps (reelmesh gen --list apps)" >&2; exit 1; }
APPS=("${WORKFLOW_APPS[@]}" kms-local control-plane)
need() { command -v "$1" >/dev/null || { echo "kind: $1 is required ($2)" >&2; exit 1; }; }
