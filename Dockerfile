# syntax=docker/dockerfile:1
# The operator's image: `sei-controller run` on python:3.11-slim, as a non-root user, with
# nothing written at run time (the manifests in config/manager mount the root filesystem
# read-only and give /tmp as the only writable path).
#
#   docker build -t sei-k8s-controller:0.1.0 .
#
# The same install path is checked without Docker by hack/check-wheel-install.sh (make check):
# a wheel built from the tree, the hash-checked runtime lock, a fresh venv, run unprivileged.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first (their layer survives source changes), hash-checked, wheels only: no
# compiler is needed here, and none reaches the final image.
COPY requirements-runtime.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --only-binary=:all: --require-hashes --no-deps \
        -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY api ./api
COPY controller_runtime ./controller_runtime
COPY controllers ./controllers
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
    && /opt/venv/bin/pip install --no-deps /dist/*.whl \
    && /opt/venv/bin/python -m compileall -q /opt/venv

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="sei-k8s-controller" \
      org.opencontainers.image.description="Kubernetes operator for Sei blockchain nodes (SeiNode, SeiNodeDeployment)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/sei-protocol/sei-k8s-controller" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The official image ships the standard library without bytecode; compile it once here, since
# the read-only root filesystem lets nothing be cached at run time.
RUN python -m compileall -q "$(python -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
COPY --from=build /opt/venv /opt/venv
# 65532: the distroless "nonroot" user the reference image runs as.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 8081
ENTRYPOINT ["sei-controller", "run"]
