"""The group ServiceMonitor (spec 5.6; 11.4 TestGenerateServiceMonitor_*; decision F14) and the
reference's applied ServiceMonitor as a golden vector (all but the selector, which F14 changes)."""

from __future__ import annotations

from typing import Any

from api.v1alpha1 import SeiNodeDeployment
from controller_runtime.labels import from_label_selector
from controllers.seinodedeployment.monitoring import service_monitor
from controllers.seinodedeployment.networking import external_service
from tests.fixtures.goldens import GOLDENS_DIR, load
from tests.fixtures.managed_fields import applied_by, field_set

from .fixtures import group

GOLDEN = GOLDENS_DIR / "snd-rpc-group"


def _monitored(**service_monitor_config: Any) -> SeiNodeDeployment:
    return group(spec__monitoring={"serviceMonitor": service_monitor_config}, spec__networking={})


def _rendered(**config: Any) -> dict[str, Any]:
    rendered = service_monitor(_monitored(**config))
    assert rendered is not None
    return rendered


def test_generate_service_monitor_basic_fields() -> None:
    sm = _rendered(interval="15s")
    assert (sm["apiVersion"], sm["kind"]) == ("monitoring.coreos.com/v1", "ServiceMonitor")
    assert (sm["metadata"]["name"], sm["metadata"]["namespace"]) == ("archive-rpc", "sei")
    assert sm["spec"]["selector"]["matchLabels"] == {"sei.io/nodedeployment": "archive-rpc"}
    assert sm["spec"]["endpoints"] == [{"port": "metrics", "interval": "15s"}]
    assert sm["metadata"]["annotations"] == {"sei.io/managed-by": "seinodedeployment"}


def test_generate_service_monitor_default_interval() -> None:
    assert _rendered()["spec"]["endpoints"] == [{"port": "metrics", "interval": "30s"}]


def test_generate_service_monitor_custom_labels_keep_the_group_label() -> None:
    labels = _rendered(labels={"release": "prometheus", "sei.io/nodedeployment": "x"})
    assert labels["metadata"]["labels"] == {
        "release": "prometheus",
        "sei.io/nodedeployment": "archive-rpc",
    }


def test_generate_service_monitor_absent_without_service_monitor_config() -> None:
    assert service_monitor(group()) is None
    assert service_monitor(group(spec__monitoring={})) is None


def _selects(sm: dict[str, Any], labels: dict[str, str]) -> bool:
    return from_label_selector(sm["spec"]["selector"]).matches(labels)


def test_service_monitor_selects_per_node_headless_services() -> None:
    # The labels the SeiNode controller puts on a child's headless Service (spec 5.4).
    headless = {"sei.io/nodedeployment": "archive-rpc", "sei.io/revision": "7", "sei.io/node": "x"}
    assert _selects(_rendered(), headless)


def test_service_monitor_does_not_select_the_external_service() -> None:
    group_obj = _monitored()
    sm = service_monitor(group_obj)
    assert sm is not None
    assert not _selects(sm, external_service(group_obj)["metadata"]["labels"])


def test_service_monitor_is_what_the_reference_applied_but_for_the_f14_selector() -> None:
    golden = load(GOLDEN / "servicemonitors-pacific-1-rpc.yaml")
    expected = applied_by(golden, field_set(golden, "seinodedeployment-controller", "Apply"))
    group_obj = load(GOLDEN / "input.yaml")
    group_obj["metadata"]["uid"] = golden["metadata"]["ownerReferences"][0]["uid"]
    rendered = service_monitor(SeiNodeDeployment.from_dict(group_obj))
    assert rendered is not None
    ours = rendered["spec"].pop("selector")
    theirs = expected["spec"].pop("selector")
    assert rendered == expected
    assert ours["matchLabels"] == theirs["matchLabels"]
    assert ours["matchExpressions"] == [{"key": "sei.io/node", "operator": "Exists"}]
