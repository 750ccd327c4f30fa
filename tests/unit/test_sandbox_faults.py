"""The sandbox's fault modes: counted, rate (seeded) and outage windows, in `sandbox/faults.py`
and through the social fakes' control API (`sandbox/control.py`), with the platforms' own
error bodies and rate-limit headers. A fake clock drives the windows: no test sleeps."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from werkzeug.test import Client

from socialomega.sandbox import faults
from socialomega.sandbox.control import parse_fault
from socialomega.sandbox.facebook import LATEST_VERSION, PAGE_ID, FacebookPageFake
from socialomega.sandbox.x import XFake


@dataclass
class _Fault:
    kind: str
    remaining: int = 1
    path_contains: str | None = None
    trigger: faults.Trigger | None = field(default=None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_counted_fault_fires_for_the_next_matching_calls_then_is_dropped():
    pending = [_Fault("500", remaining=2, path_contains="/photos")]
    assert faults.take_fault(pending, "/v25.0/me/feed") is None
    assert [faults.take_fault(pending, "/v25.0/1/photos") is not None for _ in range(3)] == [True, True, False]
    assert pending == []


def test_a_rate_fault_replays_the_same_decisions_for_the_same_seed_and_is_never_spent():
    def decisions(seed: int) -> list[bool]:
        pending = [_Fault("429", trigger=faults.Trigger(rate=0.2, seed=seed))]
        return [faults.take_fault(pending, "/2/tweets") is not None for _ in range(500)]

    first = decisions(7)
    assert first == decisions(7)
    assert first != decisions(8)
    generator = random.Random(7)
    assert first == [generator.random() < 0.2 for _ in range(500)]  # each call one draw, in order
    assert 70 < sum(first) < 130


def test_a_rate_fault_that_draws_no_lets_the_next_matching_fault_decide():
    never = faults.Trigger(rate=1e-12, seed=1)
    pending = [_Fault("429", trigger=never), _Fault("500", remaining=1)]
    fault = faults.take_fault(pending, "/x")
    assert fault is not None and fault.kind == "500"
    assert [f.kind for f in pending] == ["429"] and never.draws == 1


def test_an_outage_window_fails_every_matching_call_until_it_ends_then_is_dropped():
    clock = FakeClock()
    trigger = faults.parse_trigger({"for_seconds": 180}, clock())
    pending = [_Fault("500", path_contains="/photos", trigger=trigger)]
    assert all(faults.take_fault(pending, "/v25.0/1/photos", clock=clock) for _ in range(50))
    assert faults.take_fault(pending, "/v25.0/1/feed", clock=clock) is None  # another path passes
    clock.now += 179.9
    assert faults.take_fault(pending, "/v25.0/1/photos", clock=clock) is not None
    clock.now += 0.1
    assert faults.take_fault(pending, "/v25.0/1/photos", clock=clock) is None
    assert pending == []


def test_a_rate_with_a_window_stops_at_the_end_of_the_window():
    clock = FakeClock()
    pending = [_Fault("500", trigger=faults.parse_trigger({"rate": 1, "for_seconds": 10}, clock()))]
    assert faults.take_fault(pending, "/a", clock=clock) is not None
    clock.now += 10
    assert faults.take_fault(pending, "/a", clock=clock) is None and pending == []


@pytest.mark.parametrize(
    "spec",
    [{"rate": 0}, {"rate": 1.5}, {"rate": "often"}, {"for_seconds": 0}, {"for_seconds": -3}, {"seed": 4}],
)
def test_invalid_triggers_are_refused(spec):
    with pytest.raises(ValueError):
        faults.parse_trigger(spec, 0.0)
    with pytest.raises(ValueError):
        parse_fault({"kind": "500", **spec})


def test_a_fault_without_rate_or_window_is_counted():
    assert faults.parse_trigger({"kind": "500", "count": 3}, 0.0) is None
    fault = parse_fault({"kind": "500", "count": 3})
    assert fault.trigger is None and fault.remaining == 3


# --- through a fake's control API ---------------------------------------------------------------


def _photo_post(client: Client):
    return client.post(
        f"/{LATEST_VERSION}/{PAGE_ID}/photos",
        data={"url": "http://127.0.0.1:9/none.jpg", "caption": "c"},
        headers={"Authorization": "Bearer nope"},
    )


def test_a_facebook_outage_answers_graphs_transient_500_until_the_window_ends():
    fake = FacebookPageFake()
    clock = FakeClock()
    fake.fault_now = clock  # type: ignore[method-assign]
    client = Client(fake)
    listed = client.post("/_sandbox/faults", json={"kind": "500", "for_seconds": 180, "path_contains": "/photos"})
    assert listed.status_code == 200
    (view,) = listed.get_json()["faults"]
    assert view["remaining"] is None and view["seconds_left"] == 180 and view["rate"] is None
    for _ in range(20):
        answer = _photo_post(client)
        assert answer.status_code == 500
        error = answer.get_json()["error"]
        assert error["code"] == 2 and error["is_transient"] is True
        assert "X-Business-Use-Case-Usage" in answer.headers and "X-App-Usage" in answer.headers
    clock.now += 180
    answer = _photo_post(client)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == 190  # the fake's own answer again
    assert client.get("/_sandbox/faults").get_json()["faults"] == []
    assert [r["fault"] for r in fake.request_log()].count("500") == 20


def test_an_x_rate_fault_keeps_xs_429_headers_and_replays_for_the_same_seed():
    def statuses(seed: int) -> tuple[list[int], list[dict[str, str]]]:
        fake = XFake()
        client = Client(fake)
        answer = client.post("/_sandbox/faults", json={"kind": "429", "rate": 0.3, "seed": seed, "retry_after": 5})
        assert answer.status_code == 200
        codes, limited = [], []
        for _ in range(60):
            response = client.post("/2/tweets", json={"text": "hello"}, headers={"Authorization": "Bearer nope"})
            codes.append(response.status_code)
            if response.status_code == 429:
                limited.append(dict(response.headers))
        return codes, limited

    codes, limited = statuses(3)
    assert set(codes) == {429, 401} and codes == statuses(3)[0]
    assert codes.count(429) == len(limited) > 5
    assert all(h["x-rate-limit-remaining"] == "0" and int(h["x-rate-limit-reset"]) > 0 for h in limited)


def test_the_control_api_refuses_an_invalid_rate_and_delete_clears_a_window():
    fake = XFake()
    client = Client(fake)
    assert client.post("/_sandbox/faults", json={"kind": "500", "rate": 2}).status_code == 400
    assert client.post("/_sandbox/faults", json={"kind": "500", "for_seconds": 60}).status_code == 200
    assert client.delete("/_sandbox/faults").get_json() == {"faults": []}


def test_fail_next_takes_a_rate_and_a_window_in_python_too():
    fake = FacebookPageFake()
    clock = FakeClock()
    fake.fault_now = clock  # type: ignore[method-assign]
    fake.fail_next("timeout", rate=0.5, seed=11, for_seconds=30, delay=0)
    (fault,) = fake.faults
    assert fault.trigger is not None and fault.trigger.until == clock.now + 30
    fired = [fake.take_fault("/v25.0/1/photos") is not None for _ in range(40)]
    generator = random.Random(11)
    assert fired == [generator.random() < 0.5 for _ in range(40)]
    clock.now += 30
    assert fake.take_fault("/v25.0/1/photos") is None and fake.faults == []
