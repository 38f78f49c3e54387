"""Rate limiters (client-go's util/workqueue default_rate_limiters.go) and the defaults."""

from __future__ import annotations

import math

import pytest

from controller_runtime.clock import FakeClock
from controller_runtime.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
    default_item_based_rate_limiter,
    default_priority_queue_rate_limiter,
)

# --- exponential ------------------------------------------------------------------


def test_exponential_doubles_from_the_base_delay() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        0.005, 1000.0
    )
    assert [limiter.when("a") for _ in range(5)] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert limiter.num_requeues("a") == 5


def test_exponential_18th_failure_and_cap() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        0.005, 1000.0
    )
    delays = [limiter.when("a") for _ in range(25)]
    assert delays[16] == 327.68
    assert delays[17] == 655.36  # the 18th failure
    assert delays[18:] == [1000.0] * 7  # the 19th and later


def test_exponential_is_per_item_and_forget_resets() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(0.001, 1.0)
    limiter.when("a")
    limiter.when("a")
    assert limiter.when("b") == 0.001
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 0.001
    limiter.forget("never-seen")


def test_exponential_survives_huge_failure_counts() -> None:
    limiter: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        0.005, 1000.0
    )
    limiter._failures["a"] = 5000  # past float range of 2**n
    assert limiter.when("a") == 1000.0
    limiter._failures["b"] = 70  # past Go's int64 nanoseconds
    assert limiter.when("b") == 1000.0
    huge: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(1.0, 1e30)
    huge._failures["c"] = 40  # 2**40 s > max int64 ns: the cap is returned
    assert huge.when("c") == 1e30


# --- token bucket -----------------------------------------------------------------


def test_bucket_burst_then_one_token_per_interval() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(10.0, 100, clock=clock)
    assert [bucket.when(i) for i in range(100)] == [0.0] * 100
    # Every call takes a token: the bucket goes into debt, 0.1 s per token.
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("x") == pytest.approx(0.2)
    assert bucket.when("y") == pytest.approx(0.3)  # shared by all items


def test_bucket_refills_with_time_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(10.0, 100, clock=clock)
    for i in range(100):
        bucket.when(i)
    clock.step(0.5)  # 5 tokens back
    assert [bucket.when(i) for i in range(5)] == pytest.approx([0.0] * 5)
    assert bucket.when("next") == pytest.approx(0.1)
    clock.step(1000.0)  # refill stops at the burst
    assert sum(1 for i in range(200) if bucket.when(i) == 0.0) == 100


def test_bucket_debt_is_repaid_over_time() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(1.0, 1, clock=clock)
    assert bucket.when("a") == 0.0
    assert bucket.when("a") == pytest.approx(1.0)
    assert bucket.when("a") == pytest.approx(2.0)
    clock.step(1.5)
    assert bucket.when("a") == pytest.approx(1.5)


def test_bucket_never_tracks_items() -> None:
    bucket = BucketRateLimiter(10.0, 100, clock=FakeClock())
    bucket.when("a")
    bucket.forget("a")
    assert bucket.num_requeues("a") == 0


def test_bucket_edge_rates() -> None:
    unlimited = BucketRateLimiter(math.inf, 0, clock=FakeClock())
    assert [unlimited.when(i) for i in range(3)] == [0.0] * 3
    no_refill = BucketRateLimiter(0.0, 2, clock=FakeClock())
    assert [no_refill.when(i) for i in range(3)] == [0.0, 0.0, math.inf]
    no_burst = BucketRateLimiter(10.0, 0, clock=FakeClock())
    assert no_burst.when("a") == math.inf
    with pytest.raises(ValueError, match="negative"):
        BucketRateLimiter(-1.0, 1)


# --- composition ------------------------------------------------------------------


class _Recording:
    def __init__(self, delay: float, requeues: int) -> None:
        self.delay = delay
        self.requeues = requeues
        self.calls: list[str] = []

    def when(self, item: str) -> float:
        self.calls.append(f"when {item}")
        return self.delay

    def forget(self, item: str) -> None:
        self.calls.append(f"forget {item}")

    def num_requeues(self, item: str) -> int:
        return self.requeues


def test_max_of_consults_every_limiter() -> None:
    short, long = _Recording(0.1, 7), _Recording(2.0, 3)
    limiter: MaxOfRateLimiter[str] = MaxOfRateLimiter(short, long)
    assert limiter.when("a") == 2.0
    assert short.calls == long.calls == ["when a"]
    assert limiter.num_requeues("a") == 7
    limiter.forget("a")
    assert short.calls[-1] == long.calls[-1] == "forget a"


def test_fast_slow() -> None:
    limiter: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.01, 5.0, 3)
    assert [limiter.when("a") for _ in range(5)] == [0.01, 0.01, 0.01, 5.0, 5.0]
    assert limiter.when("b") == 0.01
    assert limiter.num_requeues("a") == 5
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == 0.01


def test_with_max_wait_caps_the_delay() -> None:
    inner: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(1.0, 100.0)
    limiter: WithMaxWaitRateLimiter[str] = WithMaxWaitRateLimiter(inner, 3.0)
    assert [limiter.when("a") for _ in range(4)] == [1.0, 2.0, 3.0, 3.0]
    assert limiter.num_requeues("a") == 4
    limiter.forget("a")
    assert inner.num_requeues("a") == 0


# --- defaults ---------------------------------------------------------------------


def test_default_controller_limiter_is_exponential_and_bucket() -> None:
    clock = FakeClock()
    limiter: RateLimiter[str] = default_controller_rate_limiter(clock=clock)
    assert limiter.when("a") == 0.005
    assert limiter.when("a") == 0.01
    for i in range(98):
        assert limiter.when(f"k{i}") == 0.005
    # 101st call within the same instant: the bucket (10 qps) dominates.
    assert limiter.when("new") == pytest.approx(0.1)
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    for _ in range(17):
        limiter.when("slow")
    clock.step(100.0)
    assert limiter.when("slow") == 655.36
    assert limiter.when("slow") == 1000.0


def test_default_item_based_limiter() -> None:
    limiter: RateLimiter[str] = default_item_based_rate_limiter()
    assert [limiter.when("a") for _ in range(3)] == [0.001, 0.002, 0.004]
    for _ in range(30):
        last = limiter.when("a")
    assert last == 1000.0


def test_priority_queue_default_has_no_bucket() -> None:
    limiter: RateLimiter[str] = default_priority_queue_rate_limiter()
    # 500 distinct items at the same instant: no global 10 qps throttling.
    assert {limiter.when(f"k{i}") for i in range(500)} == {0.005}
    assert [limiter.when("k0") for _ in range(3)] == [0.01, 0.02, 0.04]
