from socialomega.analytics.aggregate import Aggregator
from socialomega.core.envelope import new_event
from socialomega.core.store import daily_key, status_key
from tests.unit.fakes import FakeStore


def succeeded(asset="a1", target="rest"):
    return new_event(
        "PublishSucceeded",
        asset,
        {
            "target": target,
            "platform": "rest",
            "version": "v1",
            "remote_id": "r-1",
            "detected_at": "2026-11-24T10:00:00+00:00",
            "published_at": "2026-11-24T10:00:04.5+00:00",
            "attempts": 1,
        },
    )


def test_status_and_daily_counts_are_recorded_once_per_event():
    store = FakeStore()
    aggregator = Aggregator(store)
    event = succeeded()
    aggregator.apply(event)
    aggregator.apply(event)  # redelivered
    failed = new_event(
        "PublishFailed", "a2", {"target": "rest", "status": "failed", "error": {"code": "400", "message": "bad"}}
    )
    aggregator.apply(failed)
    status = store.get(status_key("a1")).data["targets"]["rest"]
    assert status["status"] == "published" and status["remote_id"] == "r-1"
    assert status["seconds_to_publish"] == 4.5
    assert store.get(status_key("a2")).data["targets"]["rest"]["error"]["message"] == "bad"
    day = event.occurred_at.strftime("%Y-%m-%d")
    assert store.get(daily_key(day)).data["counts"] == {"rest": {"PublishSucceeded": 1, "PublishFailed": 1}}
    assert sum(1 for key in store.docs if key.startswith("events/")) == 2
