#!/usr/bin/env bash
# Builds the node sidecar, `seictl` (github.com/sei-protocol/seictl), from the Go module proxy into
# a per-version cache directory beside the control-plane binaries. The e2e tests and the dev mode
# run it as `seictl serve`, one process per SeiNode.
#
# seictl's go.mod carries replace directives that Go ignores for a dependency, so it is built as
# the main module: its tree is copied out of the module cache into a scratch directory and built
# there. The checksum database does not answer for github.com/sei-protocol/*, hence GONOSUMDB for
# that prefix only; every other module is still verified against seictl's own go.sum.
#
# Idempotent: a cached binary that answers `seictl --help` is not rebuilt.
# Prints the directory of the binary as its last line of output.
#
#   SEI_CONTROL_PLANE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller)
set -euo pipefail

hack=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$hack/versions.env"

cache_root=${SEI_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller}
bin="$cache_root/seictl-$SEICTL_VERSION/bin"
mkdir -p "$bin"
exec 9>"$bin/../.build.lock"
flock 9
started=$SECONDS
log() { printf '[build-seictl %4ds] %s\n' "$((SECONDS - started))" "$*" >&2; }

if [ -x "$bin/seictl" ] && "$bin/seictl" --help >/dev/null 2>&1; then
  log "seictl $SEICTL_VERSION cached"
else
  export GOTOOLCHAIN=local CGO_ENABLED=0 GONOSUMDB=github.com/sei-protocol GOFLAGS="-buildvcs=false -mod=mod"
  log "downloading github.com/sei-protocol/seictl@$SEICTL_VERSION"
  src=$(go mod download -json "github.com/sei-protocol/seictl@$SEICTL_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  scratch=$(mktemp -d)
  trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
  cp -R "$src/." "$scratch/"
  chmod -R u+w "$scratch"
  log "building seictl $SEICTL_VERSION (cold: several minutes)"
  (cd "$scratch" && go build -trimpath -ldflags "-s -w" -o "$bin/.seictl.tmp" .)
  mv -f "$bin/.seictl.tmp" "$bin/seictl"
  log "built seictl in $((SECONDS - started))s"
fi
echo "$bin"
