# Shared by the kind scripts: repo root, cluster name, and a check for each tool they need.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${REELMESH_KIND_CLUSTER:-reelmesh}"
VERSION="$(node -p "require('$ROOT/package.json').version")"
APPS=(owner vfx color hdr sound kms-local control-plane)
need() { command -v "$1" >/dev/null || { echo "kind: $1 is required ($2)" >&2; exit 1; }; }
