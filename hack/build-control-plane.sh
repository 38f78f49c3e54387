#!/usr/bin/env bash
# Builds the local control plane that envtest runs (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) from the Go module proxy into a per-version cache directory outside the
# repository, and writes kwok's stage configuration next to them.
#
# Idempotent: a binary whose `--version` already answers with the pinned version is not rebuilt.
# Prints the directory of the binaries as its last line of output.
#
#   SEI_CONTROL_PLANE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller)
#   SEI_CONTROL_PLANE_JOBS    parallel Go compile jobs (default: number of cores)
set -euo pipefail

hack=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$hack/versions.env"

cache_root=${SEI_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sei-k8s-controller}
dir="$cache_root/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
bin="$dir/bin"
mkdir -p "$bin"
# One build at a time per cache: a second invocation (a test run next to `make dev`) waits for
# the first and then finds everything cached.
exec 9>"$dir/.build.lock"
flock 9

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=readonly"
jobs=${SEI_CONTROL_PLANE_JOBS:-$(nproc)}
started=$SECONDS

log() { printf '[build-control-plane %4ds] %s\n' "$((SECONDS - started))" "$*" >&2; }

# has_version BINARY EXPECTED: the binary exists and its version output contains EXPECTED
# (kubectl has no --version flag; it answers `kubectl version --client`).
has_version() {
  local args=(--version)
  [ "$1" = kubectl ] && args=(version --client)
  [ -x "$bin/$1" ] && "$bin/$1" "${args[@]}" 2>&1 | grep -qF -- "$2"
}

# build MODULE_DIR OUTPUT PACKAGE LDFLAGS: go build into a temporary name, then rename, so an
# interrupted build never leaves a half-written binary that looks cached.
build() {
  local module=$1 out=$2 pkg=$3 ldflags=$4 t0=$SECONDS
  log "building $out ($pkg)"
  (cd "$hack/tools/$module" && go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$bin/.$out.tmp" "$pkg")
  mv -f "$bin/.$out.tmp" "$bin/$out"
  log "built $out in $((SECONDS - t0))s"
}

k8s_ldflags() {
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "$flags"
}

if has_version etcd "etcd Version: ${ETCD_VERSION#v}"; then
  log "etcd $ETCD_VERSION cached"
else
  build etcd etcd go.etcd.io/etcd/server/v3 "-s -w"
fi

for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  want="Kubernetes $K8S_VERSION"
  [ "$cmd" = kubectl ] && want="Client Version: $K8S_VERSION"
  if has_version "$cmd" "$want"; then
    log "$cmd $K8S_VERSION cached"
  else
    build k8s "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$(k8s_ldflags)"
  fi
done

if has_version kwok "${KWOK_VERSION#v}"; then
  log "kwok $KWOK_VERSION cached"
else
  build kwok kwok sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
fi

# kwok's standard stages ship in its module; read them from the module cache rather than keeping
# copies in this repository. Nodes: initialize + heartbeat with Lease; pods: ready, complete and
# delete (without pod-delete, deleted pods stay Terminating and StatefulSet rollouts hang);
# volumes: PVCs of the `kwok-volume` StorageClass get a PV provisioned and bound, and released
# ones are deleted, so the scheduler's VolumeBinding plugin stays on as in a real cluster.
stages_src=$(cd "$hack/tools/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
stages="$bin/kwok-stages.yaml"
{
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
    volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pv-delete.yaml \
    volume/fast/pvc-delete.yaml; do
    echo "---"
    cat "$stages_src/$f"
  done
} > "$stages.tmp"
# One addition to kwok's stages: a pod with a container image whose reference contains
# `never-ready` is never made Running/Ready, a stand-in for an image that crash-loops or cannot
# be pulled (tests of stalled rollouts use it).
python3 - "$stages.tmp" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
anchor = "  name: pod-ready\n"
head, sep, tail = text.partition(anchor)
first = "    - key: '.metadata.deletionTimestamp'\n"
assert sep and first in tail, "kwok's pod-ready stage changed shape"
hold = (
    "    - key: '.spec.containers.[] | .image | contains(\"never-ready\")'\n"
    "      operator: 'NotIn'\n"
    "      values:\n"
    "      - 'true'\n"
)
open(path, "w").write(head + sep + tail.replace(first, hold + first, 1))
PY
mv -f "$stages.tmp" "$stages"
install -m 0644 "$stages_src/volume/fast/storage-class.yaml" "$bin/kwok-storage-class.yaml"

# The upstream CRDs of the kinds the group controller writes (copied, not built).
"$hack/fetch-upstream-crds.sh" "$bin" >/dev/null
log "upstream CRDs (gateway-api $GATEWAY_API_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION) in $bin/upstream-crds"

du_bin=$(du -sh "$bin" | cut -f1)
log "done: binaries ($du_bin) in $bin"
echo "$bin"
