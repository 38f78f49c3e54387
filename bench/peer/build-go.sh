#!/usr/bin/env bash
# Builds the Go peer of the benchmark (bench/peer/go, controller-runtime from the Go module
# proxy) into a cache directory outside the repository, keyed by the hash of its sources, and
# prints the binary's path as its last line. Idempotent: a cached binary is not rebuilt.
#
#   SEI_CONTROL_PLANE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller)
set -euo pipefail
src=$(cd "$(dirname "$0")/go" && pwd)
cache_root=${SEI_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller}
key=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)
out="$cache_root/bench-peer/$key/mirror"
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly"
  echo "building the Go peer into $out" >&2
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$out.tmp" .)
  mv -f "$out.tmp" "$out"
fi
echo "$out"
