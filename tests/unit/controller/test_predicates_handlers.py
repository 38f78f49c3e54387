from __future__ import annotations

from typing import Any

import pytest

from controller_runtime.controller import (
    AnnotationChanged,
    CreateEvent,
    DeleteEvent,
    EnqueueRequestForObject,
    EnqueueRequestForOwner,
    EnqueueRequestsFromMapFunc,
    Funcs,
    GenerationChanged,
    GenericEvent,
    LabelChanged,
    LabelSelectorPredicate,
    Request,
    ResourceVersionChanged,
    UpdateEvent,
    and_,
    new_predicate_funcs,
    not_,
    or_,
)
from controller_runtime.controller.predicate import all_pass
from controller_runtime.workqueue import (
    LOW_PRIORITY,
    PriorityInterface,
    PriorityQueue,
    PriorityQueueWrapper,
    RateLimitingQueue,
)


def obj(name: str = "a", rv: str = "1", gen: int = 1, **extra: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": "ns", "resourceVersion": rv, "generation": gen}
    meta.update(extra)
    return {"metadata": meta}


def test_changed_predicates_judge_updates_only() -> None:
    same = UpdateEvent(obj(rv="1"), obj(rv="1"))
    status_write = UpdateEvent(obj(rv="1", gen=1), obj(rv="2", gen=1))
    spec_write = UpdateEvent(obj(rv="1", gen=1), obj(rv="2", gen=2))
    relabel = UpdateEvent(obj(labels={"a": "1"}), obj(rv="2", labels={"a": "2"}))
    annotate = UpdateEvent(obj(), obj(rv="2", annotations={"x": "y"}))
    assert not ResourceVersionChanged().update(same)
    assert ResourceVersionChanged().update(status_write)
    assert not GenerationChanged().update(status_write)
    assert GenerationChanged().update(spec_write)
    assert LabelChanged().update(relabel)
    assert not LabelChanged().update(annotate)
    assert AnnotationChanged().update(annotate)
    assert not AnnotationChanged().update(relabel)
    for p in (ResourceVersionChanged(), GenerationChanged(), LabelChanged()):
        assert p.create(CreateEvent(obj()))
        assert p.delete(DeleteEvent(obj()))
        assert p.generic(GenericEvent(obj()))


def test_combinators_and_funcs() -> None:
    status_write = UpdateEvent(obj(rv="1"), obj(rv="2", labels={"a": "b"}))
    either = or_(GenerationChanged(), LabelChanged())
    assert either.update(status_write)
    assert not and_(GenerationChanged(), LabelChanged()).update(status_write)
    assert not_(GenerationChanged()).update(status_write)
    assert Funcs().update(status_write)  # unset functions let events through
    only_named_a = new_predicate_funcs(lambda o: o["metadata"]["name"] == "a")
    assert only_named_a.create(CreateEvent(obj("a")))
    assert not only_named_a.delete(DeleteEvent(obj("b")))
    selector = LabelSelectorPredicate("app=sei")
    assert selector.create(CreateEvent(obj(labels={"app": "sei"})))
    assert not selector.update(UpdateEvent(obj(labels={"app": "sei"}), obj(labels={})))


def test_predicates_stop_at_the_first_false() -> None:
    seen: list[str] = []

    def track(name: str, verdict: bool) -> Funcs:
        def fn(_: Any) -> bool:
            seen.append(name)
            return verdict

        return Funcs(create_fn=fn)

    assert not all_pass([track("a", True), track("b", False), track("c", True)], CreateEvent({}))
    assert seen == ["a", "b"]


def owned(*refs: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "child", "namespace": "ns", "ownerReferences": list(refs)}}


def ref(name: str, controller: bool, kind: str = "SeiNode") -> dict[str, Any]:
    return {"apiVersion": "sei.io/v1alpha1", "kind": kind, "name": name, "controller": controller}


async def drain(queue: PriorityInterface[Request]) -> list[Request]:
    items = []
    while queue.len():
        item, _ = await queue.get()
        assert item is not None
        items.append(item)
        queue.done(item)
    return items


async def test_owner_handler_maps_controller_or_every_owner() -> None:
    child = owned(ref("a", True), ref("b", False), ref("x", True, kind="Other"))
    assert list(EnqueueRequestForOwner("sei.io/v1alpha1", "SeiNode").requests(child)) == [
        Request("ns", "a")
    ]
    every = EnqueueRequestForOwner("sei.io/v1beta9", "SeiNode", only_controller=False)
    assert list(every.requests(child)) == [Request("ns", "a"), Request("ns", "b")]
    # Update: owners of old and new, deduplicated (an owner change reaches both).
    queue = PriorityQueueWrapper(RateLimitingQueue[Request]())
    handler = EnqueueRequestForOwner("sei.io/v1alpha1", "SeiNode")
    handler.update(UpdateEvent(owned(ref("a", True)), owned(ref("c", True))), queue)
    handler.update(UpdateEvent(owned(ref("a", True)), owned(ref("a", True))), queue)
    assert sorted(await drain(queue)) == [Request("ns", "a"), Request("ns", "c")]


async def test_low_priority_for_initial_list_and_resyncs() -> None:
    queue: PriorityQueue[Request] = PriorityQueue()
    handler = EnqueueRequestForObject()
    handler.create(CreateEvent(obj("initial"), is_in_initial_list=True), queue)
    handler.update(UpdateEvent(obj("resync", rv="5"), obj("resync", rv="5")), queue)
    handler.create(CreateEvent(obj("new")), queue)
    handler.update(UpdateEvent(obj("changed", rv="5"), obj("changed", rv="6")), queue)
    got = [await queue.get_with_priority() for _ in range(4)]
    assert [(r.name, p) for r, p, _ in got] == [  # type: ignore[union-attr]
        ("new", 0),
        ("changed", 0),
        ("initial", LOW_PRIORITY),
        ("resync", LOW_PRIORITY),
    ]
    queue.shut_down()


async def test_map_func_handler_may_be_async() -> None:
    async def to_group(o: dict[str, Any]) -> list[Request]:
        return [Request("ns", o["metadata"]["labels"]["group"])]

    queue = PriorityQueueWrapper(RateLimitingQueue[Request]())
    handler = EnqueueRequestsFromMapFunc(to_group)
    await handler.update(
        UpdateEvent(obj(labels={"group": "g1"}), obj(rv="2", labels={"group": "g2"})), queue
    )
    assert sorted(await drain(queue)) == [Request("ns", "g1"), Request("ns", "g2")]


@pytest.mark.parametrize("bad", [object(), lambda r: None])
def test_as_reconciler_rejects_non_reconcilers(bad: Any) -> None:
    from controller_runtime.controller import as_reconciler

    with pytest.raises(TypeError):
        as_reconciler(bad)
