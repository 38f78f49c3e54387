#!/usr/bin/env bash
# Creates .venv with the locked dependencies (requirements.lock, hashes checked) and the project
# installed in editable mode. Idempotent: does nothing when the lock has not changed since the
# last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv>=0.8,<1"
[ -x .venv/bin/python ] || uv venv --quiet --python python3 .venv
uv pip sync --quiet --python .venv/bin/python --require-hashes requirements.lock
uv pip install --quiet --python .venv/bin/python --no-deps -e .
echo "$want" > "$stamp"
echo "python environment ready in .venv" >&2
