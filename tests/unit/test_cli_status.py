"""Every photo x target, read from the store (cli/status.py): the one reading both
`socialomega status` and the demo's table use."""

from socialomega.cli import status
from socialomega.core import store as keys
from tests.unit.fakes import FakeStore

DETECTED = "2026-11-24T10:00:00+00:00"


def _store() -> FakeStore:
    store = FakeStore()
    versions = {
        "v1": {"detected_at": DETECTED, "processing": {"status": "processed", "failures": {"gallery": "too small"}}}
    }
    store.put(
        keys.asset_key("a1"),
        {"asset_id": "a1", "latest_version": "v1", "metadata": {"title": "Dune"}, "versions": versions},
    )
    store.put(
        keys.publication_key("a1", "v1", "rest"),
        {
            "status": "published",
            "remote_id": "post_1",
            "remote_url": "https://example.test/p/1",
            "published_at": "2026-11-24T10:00:02.5+00:00",
            "attempts": 2,
            "last_error": {"code": "http_503", "message": "earlier try"},  # kept from the first try
        },
    )
    store.put(
        keys.publication_key("a1", "v1", "x"),
        {"status": "retrying", "attempts": 1, "last_error": {"code": "auth", "message": "token revoked"}},
    )
    store.put(
        keys.asset_key("a2"), {"asset_id": "a2", "latest_version": "v9", "versions": {"v9": {"detected_at": DETECTED}}}
    )
    return store


def test_each_photo_and_target_has_its_state_post_reason_and_timing():
    rows = status.photo_statuses(_store(), ["gallery", "rest", "x"])
    found = {(r.asset_id, r.target): r for r in rows}
    assert [(r.asset_id, r.target) for r in rows] == [
        ("a1", "gallery"),
        ("a1", "rest"),
        ("a1", "x"),
        ("a2", "gallery"),
        ("a2", "rest"),
        ("a2", "x"),
    ]
    rejected, published, retrying = found["a1", "gallery"], found["a1", "rest"], found["a1", "x"]
    assert (rejected.state, rejected.reason) == ("rejected", "too small")
    assert published.state == "published" and published.remote_url == "https://example.test/p/1"
    assert published.seconds_to_publish == 2.5 and published.detected_at == DETECTED and published.attempts == 2
    assert published.reason == ""  # an earlier try's error is no reason once published
    assert (retrying.state, retrying.reason) == ("retrying", "auth: token revoked")
    assert found["a2", "rest"].state == "pending" and found["a2", "rest"].title == ""


def test_failed_only_keeps_what_needs_a_person():
    rows = status.photo_statuses(_store(), ["gallery", "rest", "x"], failed_only=True)
    assert [(r.asset_id, r.target, r.state) for r in rows] == [("a1", "gallery", "rejected"), ("a1", "x", "retrying")]


def test_one_asset_and_one_target():
    rows = status.photo_statuses(_store(), ["gallery", "rest", "x"], asset_id="a1", target="rest")
    assert [(r.asset_id, r.target, r.remote_id) for r in rows] == [("a1", "rest", "post_1")]
    assert status.photo_statuses(_store(), ["rest"], asset_id="nope") == []


def test_the_summary_counts_states_and_json_carries_every_field():
    rows = status.photo_statuses(_store(), ["gallery", "rest", "x"])
    assert status.summary(rows) == {"rejected": 1, "published": 1, "retrying": 1, "pending": 3}
    assert set(rows[0].as_json()) >= {
        "asset_id",
        "target",
        "state",
        "remote_id",
        "remote_url",
        "reason",
        "detected_at",
        "published_at",
    }


def test_engagement_text():
    assert status.engagement_text({"likes": 1, "comments": 2, "shares": -3}) == "1 like, 2 comments"
    assert status.error_text({"code": "c"}) == "c" and status.error_text(None) == ""


def test_a_zone_less_time_is_utc_and_an_unreadable_one_gives_no_timing():
    store = FakeStore()
    for asset, detected, published in (
        ("naive", "2026-11-24T10:00:00", "2026-11-24T10:00:02.5+00:00"),  # once a TypeError
        ("zulu", "2026-11-24T10:00:00Z", "2026-11-24T10:00:04Z"),
        ("bad", "yesterday", "2026-11-24T10:00:04Z"),
    ):
        store.put(
            keys.asset_key(asset),
            {"asset_id": asset, "latest_version": "v1", "versions": {"v1": {"detected_at": detected}}},
        )
        store.put(keys.publication_key(asset, "v1", "rest"), {"status": "published", "published_at": published})
    timings = {r.asset_id: r.seconds_to_publish for r in status.photo_statuses(store, ["rest"])}
    assert timings == {"naive": 2.5, "zulu": 4.0, "bad": None}


def test_no_photo_is_read_once_the_deadline_has_passed():
    import pytest

    from socialomega.core.deadline import Deadline, DeadlineReached

    with pytest.raises(DeadlineReached, match="reading the state of 2 photo"):
        status.photo_statuses(_store(), ["rest"], deadline=Deadline(0.0, 0.0))
