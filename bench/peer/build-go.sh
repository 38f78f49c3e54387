#!/usr/bin/env bash
# Builds a Go peer of the benchmark (bench/peer/go, controller-runtime from the Go module proxy)
# into a cache directory outside the repository, keyed by the hash of its sources, and prints
# the binary's path as its last line. Idempotent: a cached binary is not rebuilt.
#
#   build-go.sh [mirror|workload]   mirror (default): the ConfigMap->Secret job (go/main.go);
#                                   workload: the SeiNode-like job (go/workload/main.go)
#   SEI_CONTROL_PLANE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller)
set -euo pipefail
target=${1:-mirror}
case "$target" in
  mirror) package=. ;;
  workload) package=./workload ;;
  *) echo "unknown peer $target (mirror or workload)" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/go" && pwd)
cache_root=${SEI_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller}
key=$(cat "$src/go.mod" "$src/go.sum" "$src/$package"/*.go | sha256sum | cut -c1-16)
out="$cache_root/bench-peer/$key/$target"
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly"
  echo "building the Go peer into $out" >&2
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$package")
  mv -f "$out.tmp" "$out"
fi
echo "$out"
