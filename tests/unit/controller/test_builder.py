"""The builder's rules and its messages, and the manager-wide controller defaults it applies.
Nothing here starts a manager, so no API server is needed."""

from __future__ import annotations

import pytest
from kubernetes_asyncio.client import Configuration
from prometheus_client import CollectorRegistry

from controller_runtime.client import RestClient
from controller_runtime.controller import (
    Builder,
    BuilderError,
    Channel,
    ControllerConfig,
    ControllerOptions,
    EnqueueRequestForObject,
    Request,
    Result,
    controller_managed_by,
)
from controller_runtime.manager import Manager, ManagerOptions


async def reconcile(request: Request) -> Result:
    return Result()


def new_manager(controller: ControllerConfig | None = None) -> Manager:
    config = Configuration()
    config.host = "https://127.0.0.1:1"
    options = ManagerOptions(registry=CollectorRegistry())
    if controller is not None:
        options.controller = controller
    return Manager(RestClient(config), options)


def test_controller_managed_by_is_the_builder() -> None:
    manager = new_manager()
    builder = controller_managed_by(manager)
    assert isinstance(builder, Builder)
    controller = builder.for_("apps/v1", "Deployment").complete(reconcile)
    assert (controller.name, controller.group, controller.kind) == (
        "deployment",
        "apps",
        "Deployment",
    )


def test_for_twice_is_refused_at_once_naming_the_first() -> None:
    builder = controller_managed_by(new_manager()).for_("v1", "ConfigMap")
    with pytest.raises(BuilderError, match=r"for_\(\) should only be called once.*'ConfigMap'"):
        builder.for_("v1", "Secret")


def test_without_for_a_name_is_needed() -> None:
    builder = controller_managed_by(new_manager()).watches(
        "v1", "Secret", EnqueueRequestForObject()
    )
    with pytest.raises(BuilderError, match=r"one of for_\(\) or named\(\) must be called"):
        builder.complete(reconcile)
    assert builder.named("secrets").complete(reconcile).name == "secrets"


def test_owns_needs_for() -> None:
    builder = controller_managed_by(new_manager()).named("x").owns("v1", "Secret")
    with pytest.raises(BuilderError, match=r"owns\('v1', 'Secret'\) can only be used .*for_\(\)"):
        builder.complete(reconcile)


def test_a_controller_needs_a_watch() -> None:
    builder = controller_managed_by(new_manager()).named("idle")
    with pytest.raises(BuilderError, match=r"no watches.*watches_raw_source\(\)"):
        builder.complete(reconcile)
    builder.watches_raw_source(Channel(EnqueueRequestForObject()))
    assert builder.complete(reconcile).name == "idle"


def test_a_builder_completes_once() -> None:
    builder = controller_managed_by(new_manager()).for_("v1", "ConfigMap")
    builder.complete(reconcile)
    with pytest.raises(BuilderError, match=r"complete\(\) was already called.*new controller_"):
        builder.complete(reconcile)


def test_duplicate_names_say_how_to_fix_it() -> None:
    manager = new_manager()
    controller_managed_by(manager).for_("v1", "ConfigMap").complete(reconcile)
    again = controller_managed_by(manager).for_("v1", "ConfigMap")
    with pytest.raises(ValueError, match=r'"configmap" already exists.*skip_name_validation'):
        again.complete(reconcile)


def test_a_controller_added_twice_is_refused() -> None:
    manager = new_manager()
    controller = controller_managed_by(manager).for_("v1", "ConfigMap").complete(reconcile)
    with pytest.raises(ValueError, match=r"added to the manager twice.*complete\(\) already adds"):
        manager.add(controller)


def test_manager_defaults_reach_the_controllers_the_builder_makes() -> None:
    manager = new_manager(
        ControllerConfig(
            max_concurrent_reconciles=2,
            group_kind_concurrency={"Deployment.apps": 5, "ConfigMap": 3},
            cache_sync_timeout=7.0,
            recover_panic=False,
            use_priority_queue=False,
        )
    )
    deployments = controller_managed_by(manager).for_("apps/v1", "Deployment").complete(reconcile)
    configmaps = controller_managed_by(manager).for_("v1", "ConfigMap").complete(reconcile)
    secrets = controller_managed_by(manager).for_("v1", "Secret").complete(reconcile)
    assert deployments.max_concurrent_reconciles == 5
    assert configmaps.max_concurrent_reconciles == 3
    assert secrets.max_concurrent_reconciles == 2
    assert secrets.cache_sync_timeout == 7.0
    assert not secrets.recover_panic
    assert not secrets.use_priority_queue


def test_a_controllers_own_options_win_over_the_manager_defaults() -> None:
    manager = new_manager(
        ControllerConfig(group_kind_concurrency={"ConfigMap": 3}, cache_sync_timeout=7.0)
    )
    controller = (
        controller_managed_by(manager)
        .for_("v1", "ConfigMap")
        .with_options(ControllerOptions(max_concurrent_reconciles=1, cache_sync_timeout=1.0))
        .complete(reconcile)
    )
    assert controller.max_concurrent_reconciles == 1
    assert controller.cache_sync_timeout == 1.0


def test_builder_defaults_are_controller_runtimes() -> None:
    controller = controller_managed_by(new_manager()).for_("v1", "ConfigMap").complete(reconcile)
    assert controller.max_concurrent_reconciles == 1
    assert controller.cache_sync_timeout == 120.0
    assert controller.recover_panic
    assert controller.need_leader_election
    assert controller.use_priority_queue
    assert controller.reconciliation_timeout is None
