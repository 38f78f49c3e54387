#!/usr/bin/env bash
# Copies the upstream CRDs the group controller writes objects of (Gateway API HTTPRoute,
# Prometheus Operator ServiceMonitor) from their Go modules, at the versions pinned in
# versions.env, into DIR/upstream-crds/. Nothing is built; the modules come from the Go module
# proxy (or the module cache). Idempotent; build-control-plane.sh calls it for its bin directory.
#
#   hack/fetch-upstream-crds.sh DIR
set -euo pipefail

hack=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$hack/versions.env"
out="${1:?usage: fetch-upstream-crds.sh DIR}/upstream-crds"
mkdir -p "$out"

# module_dir MODULE VERSION: the extracted module in the module cache (downloaded if needed).
# Run outside any module so the query needs no go.mod.
module_dir() {
  (cd / && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "$1@$2") |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'
}

copy() {
  local src=$1/$2
  install -m 0644 "$src" "$out/.$(basename "$2").tmp"
  mv -f "$out/.$(basename "$2").tmp" "$out/$(basename "$2")"
}

gateway=$(module_dir sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION")
copy "$gateway" config/crd/standard/gateway.networking.k8s.io_httproutes.yaml
prometheus=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
copy "$prometheus" example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
echo "$out"
