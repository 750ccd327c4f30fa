"""The insights puller's run (insights/service.py), the series it keeps (analytics/series.py)
and the report that merges pulled and webhook figures (analytics/report.py), on a fake store,
with the platforms' readers replaced: which posts are read and in which order, what a failed or
deferred read keeps, which source wins per metric, and that a figure nobody could read is
`null` with its reason, never 0."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from socialomega.analytics import series
from socialomega.analytics.aggregate import Aggregator
from socialomega.analytics.report import build_report
from socialomega.cli import analytics as view
from socialomega.core.envelope import Envelope, new_event
from socialomega.insights import service
from socialomega.platforms import insights as model
from socialomega.platforms.insights import PostInsights
from tests.unit.fakes import FakeStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TARGETS = [
    {"name": "ig", "platform": "instagram"},
    {"name": "fb", "platform": "facebook"},
    {"name": "site", "platform": "rest", "rest": {"url": "https://example.test/posts"}},
]


class Configuration:
    def parameter(self, name: str) -> Any:
        assert name == "targets"
        return TARGETS


def at(event: Envelope, when: datetime) -> Envelope:
    return event.model_copy(update={"occurred_at": when})


def publish(store: FakeStore, asset: str, target: str, platform: str, remote_id: str, when: datetime) -> None:
    payload = {
        "target": target,
        "platform": platform,
        "version": "v1",
        "remote_id": remote_id,
        "remote_url": f"https://example.test/{remote_id}",
        "detected_at": (when - timedelta(seconds=8)).isoformat(),
        "published_at": when.isoformat(),
    }
    Aggregator(store).apply(at(new_event("PublishSucceeded", asset, payload), when))


def engage(store: FakeStore, target: str, platform: str, remote_id: str, kind: str, n: int, when: datetime) -> None:
    for i in range(n):
        payload = {"platform": platform, "target": target, "remote_id": remote_id, "kind": kind, "delta": 1}
        event = new_event("EngagementReceived", "a", {**payload, "engagement_key": f"{remote_id}:{kind}:{i}"})
        Aggregator(store).apply(at(event, when))


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore()
    publish(store, "a1", "ig", "instagram", "m1", NOW - timedelta(days=1))
    publish(store, "a2", "ig", "instagram", "m2", NOW - timedelta(hours=2))
    publish(store, "a1", "fb", "facebook", "p1", NOW - timedelta(days=1))
    publish(store, "a3", "ig", "instagram", "old", NOW - timedelta(days=40))  # beyond 30 days
    publish(store, "a1", "site", "rest", "r1", NOW - timedelta(days=1))  # no insights on REST
    return store


class Readers:
    """Stands in for platforms/<p>/insights.read: answers from `answers`, records what it was asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any]) -> None:
        self.asked: dict[str, list[str]] = {}
        for platform in ("instagram", "facebook"):
            module = __import__(f"socialomega.platforms.{platform}.insights", fromlist=["read"])
            monkeypatch.setattr(module, "read", self._reader(platform, answers))

    def _reader(self, platform: str, answers: dict[str, Any]):
        def read(publisher, posts, now):
            assert publisher == f"publisher of {posts[0].target}"
            self.asked.setdefault(platform, []).extend(p.remote_id for p in posts)
            return [
                answers[p.remote_id](p) if callable(answers[p.remote_id]) else answers[p.remote_id].of(p) for p in posts
            ]

        return read


def publisher_for(_configuration, name):
    return f"publisher of {name}", {}


def pull(store, now=NOW):
    return service.pull(Configuration(), store, service.PullSettings(), now=now, publisher_for=publisher_for)


IG = {"likes": 10, "comments": 2, "shares": 1, "saves": 3, "views": 400, "reach": 280}
IG_MISSING = {"clicks": "not offered by instagram"}


def test_only_recent_posts_of_targets_with_insights_are_read_and_kept_as_series(store, monkeypatch):
    readers = Readers(
        monkeypatch,
        {
            "m1": model.Reading("ok", IG, IG_MISSING),
            "m2": model.Reading("ok", {**IG, "likes": 4}, IG_MISSING),
            "p1": model.Reading("partial", {"likes": 5}, {"views": "no permission: read_insights"}, "views: ..."),
        },
    )
    lines = {line["target"]: line for line in pull(store)}
    assert set(lines) == {"ig", "fb"}  # the REST target reports no figures
    assert sorted(readers.asked["instagram"]) == ["m1", "m2"]  # the 40-day-old post is not read
    assert lines["ig"]["statuses"] == {"ok": 2} and lines["fb"]["statuses"] == {"partial": 1}
    doc = series.read(store, "ig", "m1")
    assert doc["latest"] == {"at": NOW.isoformat(), "values": IG} and len(doc["series"]) == 1
    # An hour later: nothing changed for m1 (no new point), m2 got a like.
    readers.__init__(
        monkeypatch,
        {
            "m1": model.Reading("ok", IG, IG_MISSING),
            "m2": model.Reading("ok", {**IG, "likes": 5}, IG_MISSING),
            "p1": model.Reading("partial", {"likes": 5}, {"views": "no permission: read_insights"}),
        },
    )
    pull(store, NOW + timedelta(hours=1))
    assert len(series.read(store, "ig", "m1")["series"]) == 1
    assert [p["values"]["likes"] for p in series.read(store, "ig", "m2")["series"]] == [4, 5]


def test_a_failed_or_deferred_read_keeps_the_last_figures_and_says_why(store, monkeypatch):
    Readers(
        monkeypatch,
        {"m1": model.Reading("ok", IG, IG_MISSING), "m2": model.Reading("ok", IG), "p1": model.Reading("ok", {})},
    )
    pull(store)
    Readers(
        monkeypatch,
        {
            "m1": model.Reading("deferred", detail="instagram asked to wait", retry_after=60),
            "m2": model.Reading("failed", detail="http_500: boom"),
            "p1": model.Reading("gone", detail="facebook says the post no longer exists"),
        },
    )
    pull(store, NOW + timedelta(hours=1))
    m1 = series.read(store, "ig", "m1")
    assert m1["latest"]["values"] == IG and m1["status"] == "deferred" and "wait" in m1["detail"]
    assert m1["checked_at"] == (NOW + timedelta(hours=1)).isoformat()


def test_a_gone_post_is_not_asked_again_and_the_least_recently_checked_go_first(store, monkeypatch):
    Readers(monkeypatch, {"m1": model.Reading("ok", IG), "m2": model.Reading("ok", IG), "p1": model.Reading("gone")})
    pull(store)
    series.record(store, {**PostInsights(_ref("m1"), "ok", IG).as_dict()}, (NOW + timedelta(minutes=30)).isoformat())
    readers = Readers(monkeypatch, {"m1": model.Reading("ok", IG), "m2": model.Reading("ok", IG)})
    lines = {line["target"]: line for line in pull(store, NOW + timedelta(hours=1))}
    assert "facebook" not in readers.asked and lines["fb"]["posts"] == 0
    assert readers.asked["instagram"] == ["m2", "m1"]  # m1 was checked later


def _ref(remote_id: str) -> model.PostRef:
    return model.PostRef("ig", "instagram", "a1", remote_id, NOW - timedelta(days=1))


def test_a_target_whose_reader_raises_a_config_error_fails_alone(store, monkeypatch):
    from socialomega.core.config import ConfigError

    def broken(configuration, name):
        if name == "fb":
            raise ConfigError("target fb: no secret socialomega/test/fb")
        return publisher_for(configuration, name)

    Readers(monkeypatch, {"m1": model.Reading("ok", IG), "m2": model.Reading("ok", IG)})
    lines = {
        line["target"]: line
        for line in service.pull(Configuration(), store, service.PullSettings(), now=NOW, publisher_for=broken)
    }
    assert lines["fb"]["statuses"] == {"failed": 1} and "no secret" in lines["fb"]["detail"]
    assert lines["ig"]["statuses"] == {"ok": 2}


def test_max_age_comes_from_the_environment_and_is_checked():
    assert service.PullSettings.from_env({"SO_INSIGHTS_MAX_AGE_DAYS": "7"}).max_age_days == 7
    assert service.PullSettings.from_env({}).max_age_days == 30
    for bad in ("0", "400", "soon"):
        with pytest.raises(service.ConfigError, match="SO_INSIGHTS_MAX_AGE_DAYS"):
            service.PullSettings.from_env({"SO_INSIGHTS_MAX_AGE_DAYS": bad})


# --- the report -------------------------------------------------------------------------------


def report(store, **kwargs):
    return build_report(store, since=date(2026, 12, 1), until=date(2026, 12, 3), environment="test", now=NOW, **kwargs)


def test_the_pulled_figure_wins_and_webhooks_fill_what_cannot_be_pulled(store, monkeypatch):
    engage(store, "ig", "instagram", "m1", "comment", 2, NOW - timedelta(hours=3))  # also in the pull
    engage(store, "fb", "facebook", "p1", "like", 7, NOW - timedelta(hours=3))
    engage(store, "fb", "facebook", "p1", "comment", 2, NOW - timedelta(hours=3))
    engage(store, "fb", "facebook", "p1", "share", 3, NOW - timedelta(hours=3))
    Readers(
        monkeypatch,
        {
            "m1": model.Reading("ok", IG, IG_MISSING),
            "m2": model.Reading("ok", IG, IG_MISSING),
            "p1": model.Reading(
                "partial",
                {"likes": 9},
                {
                    "comments": "no permission: pages_read_engagement",
                    "shares": "no permission: pages_read_engagement",
                    "saves": "not offered by facebook",
                },
            ),
        },
    )
    pull(store)
    rows = {(r["target"], r["remote_id"]): r for r in report(store)["posts"]}
    assert set(rows) == {("ig", "m1"), ("ig", "m2"), ("fb", "p1"), ("site", "r1")}
    m1 = rows["ig", "m1"]
    assert m1["metrics"]["comments"] == 2 and m1["sources"]["comments"] == "pull"  # never 2 + 2
    assert m1["webhook"] == {"comments": 2}
    assert m1["metrics"]["clicks"] is None and m1["missing"]["clicks"] == "not offered by instagram"
    p1 = rows["fb", "p1"]
    assert (p1["metrics"]["likes"], p1["sources"]["likes"]) == (9, "pull")  # the platform's total, not 7
    assert (p1["metrics"]["comments"], p1["sources"]["comments"]) == (2, "webhook")  # not pulled: notified
    # Facebook's share notifications are unconfirmed: 3 counted, but no figure shown without the pull.
    assert p1["webhook"]["shares"] == 3 and p1["metrics"]["shares"] is None
    assert p1["missing"]["shares"] == "no permission: pages_read_engagement"
    assert p1["metrics"]["saves"] is None and p1["missing"]["saves"] == "not offered by facebook"
    site = rows["site", "r1"]
    assert all(v is None for v in site["metrics"].values())
    assert site["missing"]["likes"] == "rest reports no figures"
    assert site["thumbnail_key"] == "processed/a1/v1/site.jpg" and site["seconds_to_publish"] == 8.0


def test_a_post_not_read_yet_shows_webhook_counts_and_says_so_for_the_rest(store):
    engage(store, "ig", "instagram", "m2", "comment", 1, NOW - timedelta(hours=1))
    m2 = next(r for r in report(store)["posts"] if r["remote_id"] == "m2")
    assert m2["metrics"]["comments"] == 1 and m2["sources"]["comments"] == "webhook"
    assert m2["metrics"]["likes"] is None and m2["missing"]["likes"].startswith("not read yet")
    assert m2["updated_at"] is None


def test_filters_totals_table_and_csv(store, monkeypatch):
    Readers(monkeypatch, {"m1": model.Reading("ok", IG), "m2": model.Reading("ok", IG), "p1": model.Reading("ok", {})})
    pull(store)
    only = report(store, targets=["ig"])
    assert {r["target"] for r in only["posts"]} == {"ig"} and only["totals"]["ig"]["likes"] == 20
    one = report(store, asset_id="a2")
    assert [r["remote_id"] for r in one["posts"]] == ["m2"]
    text = view.table(only)
    assert "PUBLISHED (UTC)" in text and "2 post(s) published 2026-12-01 .. 2026-12-03" in text
    csv_rows = view.csv_text(report(store)).splitlines()
    assert csv_rows[0].startswith("published_at,asset_id,title,target,platform")
    site = next(line for line in csv_rows if ",site," in line)
    assert ",,,,,,," in site  # the REST post's figures are empty, not 0
    empty = build_report(FakeStore(), since=date(2026, 1, 1), until=date(2026, 1, 2), environment="test", now=NOW)
    assert view.table(empty) == "no posts published 2026-01-01 .. 2026-01-02"


def test_failures_of_the_range_come_from_the_event_log(store):
    failed = new_event(
        "PublishFailed",
        "a9",
        {
            "target": "ig",
            "platform": "instagram",
            "status": "failed",
            "error": {"code": "rate_limited", "message": "x"},
        },
    )
    Aggregator(store).apply(at(failed, NOW - timedelta(hours=5)))
    found = report(store)["failures"]
    assert [(f["asset_id"], f["target"], f["code"]) for f in found] == [("a9", "ig", "rate_limited")]
    assert report(store, targets=["fb"])["failures"] == []
