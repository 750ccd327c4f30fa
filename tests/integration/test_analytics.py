"""Analytics on LocalStack against the sandbox platforms' ground truth (issue 15).

After the first run's posts, fans engage with every post on the four social fakes: likes,
comments, shares and saves, some taken back. The fakes notify SocialOmega by signed webhook
where the platform does (Instagram: comments only, never likes), the scheduled insights puller
(the local runtime's `insights` schedule, the handler the Lambda runs) reads every post's figures
from the platforms, and `socialomega analytics --json`, a separate process as an operator runs
it, must then equal the fakes' truth exactly, per post and metric; the webhook counts must equal
the truth of what the platforms notify; replaying every engagement event changes nothing; a
revoked insights permission shows as missing figures with the reason, never as zeros.

The fakes' clock is frozen while figures are compared: views grow with a post's age.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.platforms.insights import METRICS
from socialomega.replay.replayer import Replayer, Selection
from tests.conftest import wait_idle
from tests.integration.test_operator_cli import socialomega, wait_for

pytestmark = pytest.mark.integration
SOCIAL = ("instagram", "facebook", "x", "linkedin")
# What each platform's insights reader reports for one of our image posts (platforms/<p>/insights.py).
READ: dict[str, set[str]] = {}


def analytics_json(*args: str) -> dict[str, Any]:
    result = socialomega("analytics", "--days", "2", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def truth(sandbox) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p, post["post_id"]): post for p in SOCIAL for post in sandbox.engagement(p)}


@pytest.fixture(scope="module")
def engaged(sandbox, runtime, first_run) -> Iterator[dict[str, Any]]:  # noqa: ARG001 - after the first posts
    """Fans engage with every post (webhooks on), the clock frozen; then the insights run."""
    for name in SOCIAL:
        sandbox.set_webhook_url(name, runtime.webhook_url)
    sandbox.freeze_clock()
    rng = random.Random(15)
    acted = 0
    notified: Counter[tuple[str, str, str]] = Counter()  # (platform, post, metric) -> net notifications
    try:
        for name in SOCIAL:
            for post in sandbox.engagement(name):
                for kind, most in (("like", 6), ("comment", 3), ("share", 2), ("save", 2)):
                    count = rng.randint(0, most)
                    if count:
                        answer = sandbox.engage(name, post["post_id"], kind, count, notify=True)
                        assert set(answer["notified"]) <= {200}, answer["notified"]  # each one taken
                        notified[name, post["post_id"], f"{kind}s"] += len(answer["notified"])
                        acted += count
                taken_back = rng.random() < 0.3  # a fan takes a like (and a comment) back
                for kind in ("like", "comment"):
                    if taken_back and sandbox.engagement(name, post["post_id"])[0][f"{kind}s"]:
                        answer = sandbox.engage(name, post["post_id"], kind, 1, remove=True, notify=True)
                        notified[name, post["post_id"], f"{kind}s"] -= len(answer["notified"])
        wait_idle(runtime)  # every notification through the webhook endpoint into analytics
        pulled = runtime.run_schedule("insights")
        yield {"pulled": pulled, "acted": acted, "notified": notified}
    finally:
        for name in SOCIAL:
            sandbox.set_webhook_url(name, None)
        sandbox.thaw_clock()


def rows_by_post(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["platform"], row["remote_id"]): row for row in report["posts"]}


def test_the_insights_run_reads_every_recent_post(engaged):
    lines = {line["target"]: line for line in engaged["pulled"]["targets"]}
    assert set(lines) >= {"instagram", "facebook", "x", "linkedin"}, lines
    for name, line in lines.items():
        assert set(line["statuses"]) <= {"ok", "partial"}, (name, line)
        assert line["posts"] > 0 or name not in SOCIAL, (name, line)  # instagram-tall's photos may not fit
    assert engaged["pulled"]["failed"] == []


def test_analytics_equals_the_platforms_ground_truth_per_post_and_metric(sandbox, engaged):  # noqa: ARG001
    report = analytics_json()
    known = truth(sandbox)
    rows = rows_by_post(report)
    assert {key for key in rows if key[0] in SOCIAL} == set(known), "every post on the fakes is reported, once"
    compared = 0
    for key, row in rows.items():
        if key[0] not in SOCIAL:
            continue
        expected = known[key]
        for metric in METRICS:
            value = row["metrics"][metric]
            if value is None:
                assert row["missing"][metric], (key, metric)  # never a silent gap, never a 0
                continue
            assert value == expected[metric], (key, metric, row["sources"].get(metric), value, expected[metric])
            compared += 1
        # Instagram's likes reach us only by pulling (Meta sends no like webhooks).
        if key[0] == "instagram":
            assert row["sources"]["likes"] == "pull" and row["metrics"]["likes"] == expected["likes"]
    assert compared >= 5 * len(known), f"only {compared} figures compared for {len(known)} posts"


def test_webhook_counts_equal_what_the_platforms_notified(engaged):
    """Exactly the notifications the fakes sent, counted once each. They are not the truth where
    a platform is silent about an action taken back (an unlike on X): that is why the pull wins."""
    rows = rows_by_post(analytics_json())
    sent = engaged["notified"]
    assert sum(n for n in sent.values() if n > 0) > 50, "the fakes notified too little to tell"
    for (name, remote_id, metric), net in sent.items():
        assert rows[name, remote_id]["webhook"].get(metric, 0) == max(0, net), (name, remote_id, metric)
    for (name, remote_id), row in rows.items():  # nothing counted that was not sent
        for metric, counted in row["webhook"].items():
            assert counted == max(0, sent[name, remote_id, metric]), (name, remote_id, metric)


def test_replaying_every_engagement_event_changes_nothing(stack, runtime, engaged):  # noqa: ARG001
    before = analytics_json()
    today = datetime.now(UTC).date()
    replayer = Replayer.build(config.Settings.from_env(), aws.Clients.default())
    done = replayer.replay(
        Selection.parse(f"{today - timedelta(days=1)}", f"{today + timedelta(days=1)}", types=["EngagementReceived"])
    )
    assert done.ok and done.sent.get("EngagementReceived", 0) > 0, done.lines()
    handled = runtime.stats()["analytics"].records
    wait_for(lambda: runtime.stats()["analytics"].records >= handled, 60, "analytics takes the replay")
    wait_idle(runtime)
    after = analytics_json()
    for report in (before, after):
        report.pop("generated_at")
    assert after == before


def test_a_revoked_insights_permission_is_missing_figures_with_the_reason_never_zeros(sandbox, runtime, engaged):  # noqa: ARG001
    sandbox.revoke("instagram", "instagram_manage_insights")
    try:
        runtime.run_schedule("insights")
        rows = [r for r in analytics_json("--target", "instagram")["posts"]]
        assert rows
        for row in rows:
            assert row["metrics"]["views"] is None and "instagram_manage_insights" in row["missing"]["views"], row
            assert row["metrics"]["likes"] is not None  # the media's own fields need no insights permission
    finally:
        sandbox.grant("instagram", "instagram_manage_insights")
        runtime.run_schedule("insights")


def test_the_html_report_embeds_the_posted_photos_and_every_chart(engaged, tmp_path):  # noqa: ARG001
    page = tmp_path / "report.html"
    result = socialomega("analytics", "--days", "2", "--html", str(page))
    assert result.exit_code == 0, result.stderr
    html = page.read_text()
    assert f"HTML report written to {page}" in result.stderr
    assert html.count("data:image/jpeg;base64,") >= 4  # the top photos' thumbnails, read from S3
    charts = ("posts-per-day", "engagement-over-time", "top-photos", "engagement-by-hour", "failures-by-reason")
    for chart in (*charts, "publish-latency"):
        assert f'data-chart="{chart}"' in html, chart
    assert "<script" not in html and "http://127.0.0.1" not in html.split("<table")[0]
