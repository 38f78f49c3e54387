"""The sidecar address: the spec 7.1 default and the operator's URL template."""

from __future__ import annotations

import pytest

from controllers.sidecar.url import (
    SidecarURLTemplateError,
    URLTemplate,
    effective_port,
    sidecar_url_for_node,
)


class TestSidecarURLForNode:
    """Ported from the reference's TestSidecarURLForNode."""

    def test_default_port(self) -> None:
        assert (
            sidecar_url_for_node("test-replayer", "default")
            == "http://test-replayer-0.test-replayer.default.svc.cluster.local:7777"
        )

    def test_zero_port_means_the_default(self) -> None:
        assert (
            sidecar_url_for_node("test-replayer", "default", 0)
            == "http://test-replayer-0.test-replayer.default.svc.cluster.local:7777"
        )

    def test_custom_port(self) -> None:
        assert (
            sidecar_url_for_node("archive", "sei", 9000)
            == "http://archive-0.archive.sei.svc.cluster.local:9000"
        )


def test_effective_port_defaults_only_when_unset() -> None:
    assert (effective_port(None), effective_port(0), effective_port(8080)) == (7777, 7777, 8080)


def test_template_substitutes_every_placeholder() -> None:
    template = URLTemplate("http://127.0.0.1:{port}/nodes/{namespace}/{name}")
    assert template("node-a", "team", 7000) == "http://127.0.0.1:7000/nodes/team/node-a"


def test_template_defaults_the_port_like_the_default_address() -> None:
    assert URLTemplate("http://127.0.0.1:{port}")("a", "b", 0) == "http://127.0.0.1:7777"


def test_template_drops_a_trailing_slash_so_paths_join_cleanly() -> None:
    assert URLTemplate("http://sim:9000/nodes/{name}/")("a", "b", 1) == "http://sim:9000/nodes/a"


def test_template_without_placeholders_is_one_address_for_all_nodes() -> None:
    assert URLTemplate("http://127.0.0.1:9000")("a", "b", 1) == "http://127.0.0.1:9000"


def test_unknown_placeholder_is_rejected_naming_it() -> None:
    with pytest.raises(SidecarURLTemplateError, match=r"unknown placeholder \{ordinal\}"):
        URLTemplate("http://{name}-{ordinal}:7777")


@pytest.mark.parametrize("template", ["http://h/{}", "http://h/{0}", "http://h/{name.upper}"])
def test_positional_and_attribute_placeholders_are_rejected(template: str) -> None:
    with pytest.raises(SidecarURLTemplateError, match="unknown placeholder"):
        URLTemplate(template)


def test_format_specs_are_rejected() -> None:
    with pytest.raises(SidecarURLTemplateError, match="no format spec"):
        URLTemplate("http://h:{port:05d}")


def test_unbalanced_braces_are_rejected() -> None:
    with pytest.raises(SidecarURLTemplateError, match="expected '}'"):
        URLTemplate("http://{name")


@pytest.mark.parametrize(
    "template", ["{name}:7777", "ftp://{name}", "http:///{name}", "unix:/run/{name}.sock"]
)
def test_template_must_render_an_http_url_with_a_host(template: str) -> None:
    with pytest.raises(SidecarURLTemplateError, match="http:// or https://"):
        URLTemplate(template)


def test_template_with_a_non_numeric_port_is_rejected() -> None:
    with pytest.raises(SidecarURLTemplateError, match="invalid URL"):
        URLTemplate("http://127.0.0.1:{name}")


def test_template_with_a_query_is_rejected() -> None:
    with pytest.raises(SidecarURLTemplateError, match="query or fragment"):
        URLTemplate("http://sim/{name}?x=1")
