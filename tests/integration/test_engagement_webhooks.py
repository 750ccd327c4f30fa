"""Engagement webhooks on LocalStack: the platforms' subscription checks and signed
notifications through the local API Gateway, the webhook handler, the EventBridge rule
Terraform created, and the analytics aggregator.

Each platform's fake side (`sandbox/webhooks.py`) signs like the platform; every notification
is delivered twice, as platforms retry, and must count once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialomega.analytics.daily import post_engagement
from socialomega.local import ops
from socialomega.sandbox import webhooks as platform_side
from tests.conftest import wait_idle

pytestmark = pytest.mark.integration
KINDS = platform_side.NOTIFIED_KINDS


def one_post(store, platform: str) -> dict[str, Any]:
    keys = store.list_keys(f"posts/{platform}/")
    assert keys, f"nothing published to {platform}: no post index"
    return store.get(keys[0]).data


@pytest.fixture(scope="module")
def webhook_url(runtime, first_run) -> str:  # noqa: ARG001 - the posts must exist first
    assert runtime.webhook_url
    return runtime.webhook_url


@pytest.mark.parametrize("platform", sorted(KINDS))
def test_each_platforms_subscription_check_is_answered(webhook_url, platform):
    assert platform_side.verify_endpoint(webhook_url, platform)


def test_signed_engagement_reaches_analytics_once_and_forgeries_do_not(store, stack, runtime, webhook_url):
    posts = {platform: one_post(store, platform) for platform in KINDS}
    now = datetime.now(UTC)  # the notifications' days (the platform's time): the shards they land in
    days = [f"{now + timedelta(days=d):%Y-%m-%d}" for d in (-1, 0, 1)]
    before = post_engagement(store, days)  # other suites' fans may have engaged with these posts too
    for platform, kinds in KINDS.items():
        for kind in kinds:
            notification = platform_side.notification(platform, kind, posts[platform]["remote_id"])
            for _ in range(2):  # the platform retries: the same notification twice
                answer = platform_side.deliver(webhook_url, platform, notification)
                assert answer.status_code == 200, (platform, kind, answer.text)
                assert answer.json() == {"received": 1, "recorded": 1, "unmatched": 0}
    forged = platform_side.deliver(
        webhook_url,
        "facebook",
        platform_side.notification("facebook", "comment", posts["facebook"]["remote_id"]),
        tamper=True,
    )
    assert forged.status_code == 401
    elsewhere = platform_side.deliver(webhook_url, "x", platform_side.notification("x", "like", "1234567890"))
    assert elsewhere.json() == {"received": 1, "recorded": 0, "unmatched": 1}
    # Signed, but a payload this code does not read (X's Activity API envelope): kept, answered 200.
    unreadable = platform_side.deliver(webhook_url, "x", {"data": {"event_type": "like.create", "payload": {}}})
    assert unreadable.status_code == 200 and unreadable.json()["unreadable"] is True
    assert len(store.list_keys("webhooks/unreadable/x/")) == 1
    wait_idle(runtime)

    counted = post_engagement(store, days)
    for platform, kinds in KINDS.items():
        post = posts[platform]
        key = (post["target"], post["remote_id"])
        engagement, earlier = counted.get(key), before.get(key) or {}
        assert engagement is not None, f"no engagement recorded for {platform}"
        added = {k: engagement.get(f"{k}s", 0) - earlier.get(f"{k}s", 0) for k in ("like", "comment", "share")}
        assert added == {k: int(k in kinds) for k in ("like", "comment", "share")}, (platform, engagement)
    assert ops.dlq_contents({"analytics": stack["consumers"]["analytics"]["dlq_url"]}) == {"analytics": []}
