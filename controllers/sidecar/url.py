"""Where a node's sidecar answers (spec 7.1), and the operator's override of it.

The default is the pod DNS name of the node's StatefulSet pod (which the bootstrap Job pod shares:
hostname ``<name>-0``, subdomain ``<name>``). Tests and the dev mode, where pods run no
containers, point the operator at local sidecars instead: either with a URL template (one
simulator port with a path per node) or with a resolver callable (the local fleet, one loopback
port per node). Both produce a base URL; the client appends ``/v0/...`` to it, so a base URL may
carry a path prefix.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from urllib.parse import urlsplit

from controllers.sidecar.api import DEFAULT_SIDECAR_PORT

__all__ = [
    "DEFAULT_URL_TEMPLATE",
    "PLACEHOLDERS",
    "SidecarURLResolver",
    "SidecarURLTemplateError",
    "URLTemplate",
    "effective_port",
    "sidecar_url_for_node",
]

DEFAULT_URL_TEMPLATE = "http://{name}-0.{name}.{namespace}.svc.cluster.local:{port}"
PLACEHOLDERS = frozenset({"name", "namespace", "port"})

SidecarURLResolver = Callable[[str, str, int], str]
"""``(name, namespace, port) -> base URL``; ``port`` is already defaulted (never 0)."""


class SidecarURLTemplateError(ValueError):
    """A sidecar URL template that can never produce a usable URL; raised at start-up."""


def effective_port(port: int | None) -> int:
    """``spec.sidecar.port`` if set and non-zero, else 7777 (spec 7.1)."""
    return port if port else DEFAULT_SIDECAR_PORT


class URLTemplate:
    """A validated template with the placeholders ``{name}``, ``{namespace}`` and ``{port}``.

    Invariant: every instance renders to an absolute http(s) URL with a host for any valid
    Kubernetes name, so a bad template fails once at start-up, never per request.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        fields: set[str] = set()
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise SidecarURLTemplateError(f"sidecar URL template {template!r}: {exc}") from None
        for _, field, spec, conversion in parsed:
            if field is None:
                continue
            if field not in PLACEHOLDERS:
                raise SidecarURLTemplateError(
                    f"sidecar URL template {template!r}: unknown placeholder {{{field}}}; "
                    f"use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}"
                )
            if spec or conversion:
                raise SidecarURLTemplateError(
                    f"sidecar URL template {template!r}: placeholder {{{field}}} takes no "
                    "format spec or conversion"
                )
            fields.add(field)
        self.placeholders = frozenset(fields)
        sample = self.render("node", "namespace", DEFAULT_SIDECAR_PORT)
        try:
            url = urlsplit(sample)
            url.port  # noqa: B018 (validates the port)
        except ValueError as exc:
            raise SidecarURLTemplateError(
                f"sidecar URL template {template!r} renders an invalid URL ({sample}): {exc}"
            ) from None
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SidecarURLTemplateError(
                f"sidecar URL template {template!r} must render an http:// or https:// URL "
                f"with a host, got {sample!r}"
            )
        if url.query or url.fragment:
            raise SidecarURLTemplateError(
                f"sidecar URL template {template!r} must not have a query or fragment"
            )

    def render(self, name: str, namespace: str, port: int) -> str:
        return self.template.format(name=name, namespace=namespace, port=port).rstrip("/")

    def __call__(self, name: str, namespace: str, port: int) -> str:
        return self.render(name, namespace, effective_port(port))

    def __repr__(self) -> str:
        return f"URLTemplate({self.template!r})"


_DEFAULT = URLTemplate(DEFAULT_URL_TEMPLATE)


def sidecar_url_for_node(name: str, namespace: str, port: int | None = None) -> str:
    """The spec 7.1 base URL, ``http://<name>-0.<name>.<namespace>.svc.cluster.local:<port>``."""
    return _DEFAULT(name, namespace, effective_port(port))
