#!/usr/bin/env bash
# The image's install path, without Docker: a wheel built from the tree, installed with the
# hash-checked runtime lock (wheels only) into a fresh venv outside the tree, then
# `sei-controller --help`, `run --help` and `version` run from it as an unprivileged user
# (nobody) from /, so nothing of the source tree or of root's environment is used.
# PYTHON: the interpreter of the venv; it must be executable by nobody (default /usr/bin/python3,
# which must be 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/usr/bin/python3}
"$python" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
  || { echo "check-wheel-install: $python is not Python 3.11+; set PYTHON" >&2; exit 1; }

work=$(mktemp -d /tmp/wheel-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
uv build --quiet --wheel --out-dir "$work/dist" .
uv venv --quiet --python "$python" "$work/venv"
uv pip install --quiet --python "$work/venv/bin/python" --require-hashes --only-binary :all: \
  -r requirements-runtime.lock
uv pip install --quiet --python "$work/venv/bin/python" --no-deps "$work"/dist/*.whl
chmod -R a+rX "$work"

as_nobody() {
  (cd / && env -i PATH=/usr/bin:/bin HOME=/nonexistent PYTHONDONTWRITEBYTECODE=1 \
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@")
}
as_nobody "$work/venv/bin/sei-controller" --help >/dev/null
as_nobody "$work/venv/bin/sei-controller" run --help | grep -q -- '--leader-election-id'
as_nobody "$work/venv/bin/sei-controller" version
echo "check-wheel-install: $(ls "$work/dist") installs and runs as nobody"
