from socialomega.core import store as keys
from socialomega.local import report
from tests.unit.fakes import FakeStore


def test_rows_show_status_remote_id_error_and_timing():
    store = FakeStore()
    versions = {
        "v1": {
            "detected_at": "2026-11-24T10:00:00+00:00",
            "processing": {"status": "processed", "failures": {"gallery": "too small"}},
        }
    }
    store.put(
        keys.asset_key("a1"),
        {"asset_id": "a1", "latest_version": "v1", "metadata": {"title": "Dune"}, "versions": versions},
    )
    store.put(
        keys.publication_key("a1", "v1", "rest"),
        {"status": "published", "remote_id": "post_1", "published_at": "2026-11-24T10:00:02.5+00:00"},
    )
    rows = report.rows(store, ["gallery", "rest"])
    assert [(r.target, r.status, r.remote, r.seconds) for r in rows] == [
        ("gallery", "rejected", "too small", None),
        ("rest", "published", "post_1", 2.5),
    ]
    text = report.render(rows)
    assert "Dune" in text and "2.50 s" in text
    assert all(line == line.rstrip() for line in text.splitlines())
    assert report.summary(rows) == {"rejected": 1, "published": 1}


def test_a_days_line_sums_its_shards():
    from socialomega.analytics.daily import SHARDS

    store = FakeStore()
    shards = {
        0: {"counts": {"rest": {"PublishSucceeded": 2}}, "engagement": {"x": {"likes": 1}}, "applied": ["e1", "e2"]},
        7: {"counts": {"rest": {"PublishSucceeded": 1, "PublishFailed": 1}}, "applied": ["e3", "e4", "e5"]},
        SHARDS - 1: {"engagement": {"x": {"likes": 2, "comments": -1}}, "applied": ["e6", "e7"]},
    }
    for shard, data in shards.items():
        store.put(keys.daily_key("2026-11-24", shard), {"day": "2026-11-24", "shard": shard, **data})
    assert report.day_lines(store, "2026-11-24") == [
        "2026-11-24: 7 event(s) counted",
        "  rest: 1 failed, 3 succeeded",
        "  x: 3 likes",  # a negative net sum shows as none
    ]
