# Shared by the kind scripts: repo root, cluster name, and a check for each tool they need.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${REELMESH_KIND_CLUSTER:-reelmesh}"
VERSION="$(node -p "require('$ROOT/package.json').version")"
# workflow_list <array> <kind>: what the workflow defines, one entry per line, into <array> — never
# listed by hand, it follows policies/workflow.yaml (`reelmesh gen --list <kind>`). Exits when it
# cannot list it. Only the scripts that need a list ask for it (each ask runs the CLI once).
workflow_list() {
  local -n into="$1"
  mapfile -t into < <(node "$ROOT/tools/cli/bin/reelmesh.mjs" gen --list "$2")
  [ "${#into[@]}" -gt 0 ] || { echo "kind: could not list the workflow's $2 (reelmesh gen --list $2)" >&2; exit 1; }
}
need() { command -v "$1" >/dev/null || { echo "kind: $1 is required ($2)" >&2; exit 1; }; }
