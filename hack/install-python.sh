#!/usr/bin/env bash
# Creates .venv with the locked dependencies (requirements.lock, hashes checked) and the project
# installed in editable mode, all compiled to bytecode: the machines this runs on set
# PYTHONDONTWRITEBYTECODE, so whatever is not compiled here is compiled from source at every
# start (seconds of CPU and tens of MiB; see bench/client_import.py).
# Idempotent: the dependencies are reinstalled only when the lock, pyproject.toml or this script
# changed since the last successful install; the project's own sources are recompiled each run,
# which touches only the files edited since (compileall compares source timestamps).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed
want=$(cat requirements.lock pyproject.toml "$0" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv>=0.8,<1"
  [ -x .venv/bin/python ] || uv venv --quiet --python python3 .venv
  uv pip sync --quiet --compile-bytecode --python .venv/bin/python --require-hashes requirements.lock
  uv pip install --quiet --compile-bytecode --python .venv/bin/python --no-deps -e .
  echo "$want" > "$stamp"
  echo "python environment ready in .venv" >&2
fi
.venv/bin/python -m compileall -q -j 0 controller_runtime controllers api >/dev/null
