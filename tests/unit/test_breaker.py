"""The circuit breaker's state machine over a store with S3's conditional-write semantics."""

from __future__ import annotations

import threading

import pytest

from socialomega.core.breaker import Breaker, BreakerOpen
from socialomega.core.config import Resilience
from tests.unit.fakes import FakeStore

SETTINGS = Resilience(breaker_threshold=3, breaker_cooldown_seconds=60, breaker_max_cooldown_seconds=200)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker(store, clock, transitions=None) -> Breaker:
    return Breaker(
        store,
        "rest",
        SETTINGS,
        probe_lease=120,
        clock=clock,
        on_transition=(lambda kind, state: transitions.append((kind, state))) if transitions is not None else None,
    )


def open_it(b: Breaker) -> None:
    for _ in range(SETTINGS.breaker_threshold):
        b.failed(b.admit(), "503 Service Unavailable")


def test_it_opens_after_the_threshold_of_consecutive_failures(clock):
    store, transitions = FakeStore(), []
    b = breaker(store, clock, transitions)
    b.failed(b.admit(), "503")
    b.failed(b.admit(), "503")
    assert b.admit().admission == "closed"  # two failures: still closed
    b.failed(b.admit(), "timeout")
    with pytest.raises(BreakerOpen) as opened:
        b.admit()
    assert opened.value.seconds == pytest.approx(60)
    assert "3 consecutive failures" in str(opened.value) and "timeout" in str(opened.value)
    assert [kind for kind, _ in transitions] == ["opened"]


def test_a_success_resets_the_count(clock):
    store = FakeStore()
    b = breaker(store, clock)
    b.failed(b.admit(), "503")
    b.failed(b.admit(), "503")
    b.succeeded(b.admit())
    b.failed(b.admit(), "503")
    b.failed(b.admit(), "503")
    assert b.admit().admission == "closed"


def test_a_closed_breaker_with_no_failures_is_never_written(clock):
    store = FakeStore()
    b = breaker(store, clock)
    for _ in range(5):
        b.succeeded(b.admit())
    assert store.docs == {}


def test_after_the_cool_down_one_probe_and_its_success_closes_it(clock):
    store, transitions = FakeStore(), []
    b = breaker(store, clock, transitions)
    open_it(b)
    clock.now += 61
    probe = b.admit()
    assert probe.admission == "probe"
    with pytest.raises(BreakerOpen):  # while it probes, nobody else calls the platform
        b.admit()
    clock.now += 5
    b.succeeded(probe)
    assert b.admit().admission == "closed"
    assert [kind for kind, _ in transitions] == ["opened", "closed"]
    assert transitions[1][1]["open_since"] == pytest.approx(1_000_000.0)


def test_a_failed_probe_reopens_it_with_a_doubled_cool_down_up_to_the_maximum(clock):
    store, transitions = FakeStore(), []
    b = breaker(store, clock, transitions)
    open_it(b)
    waits = []
    for _ in range(3):
        clock.now += 1000
        b.failed(b.admit(), "503")
        with pytest.raises(BreakerOpen) as still:
            b.admit()
        waits.append(round(still.value.seconds))
    assert waits == [120, 200, 200]
    assert [kind for kind, _ in transitions] == ["opened"]  # reopening is not a new outage


def test_a_probe_that_dies_holds_the_breaker_only_for_its_lease(clock):
    store = FakeStore()
    b = breaker(store, clock)
    open_it(b)
    clock.now += 61
    assert b.admit().admission == "probe"  # ... and its invocation is killed: no verdict
    clock.now += 60
    with pytest.raises(BreakerOpen):
        b.admit()
    clock.now += 61
    assert b.admit().admission == "probe"


def test_a_probe_without_a_verdict_is_given_back_at_once(clock):
    store = FakeStore()
    b = breaker(store, clock)
    open_it(b)
    clock.now += 61
    b.released(b.admit())
    assert b.admit().admission == "probe"


class LockedStore(FakeStore):
    """S3 applies a conditional write atomically: so does this store. The first `get` of each
    of `parties` callers waits for the others, so all of them see the same open breaker."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(parties, timeout=5)
        self.local = threading.local()

    def get(self, key):
        doc = super().get(key)
        if not getattr(self.local, "waited", False) and key.startswith("breakers/"):
            self.local.waited = True
            self.barrier.wait()
        return doc

    def claim(self, key, data):
        with self.lock:
            return super().claim(key, data)

    def replace(self, doc, data):
        with self.lock:
            return super().replace(doc, data)


@pytest.mark.parametrize("parties", [2, 6])
def test_of_concurrent_invocations_after_the_cool_down_exactly_one_probes(clock, parties):
    store = LockedStore(parties)
    opener = breaker(FakeStore(), clock)
    open_it(opener)
    store.docs = dict(opener.store.docs)
    calls, waits = [], []

    def invocation() -> None:
        b = breaker(store, clock)
        try:
            ticket = b.admit()
        except BreakerOpen as exc:
            waits.append(exc.seconds)
            return
        calls.append(ticket.admission)  # this one calls the platform

    clock.now += 61
    threads = [threading.Thread(target=invocation) for _ in range(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == ["probe"]
    assert len(waits) == parties - 1 and all(w >= 1 for w in waits)
