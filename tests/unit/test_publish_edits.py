"""What a new version of an already-posted photo means (publishers/edits.py through
publishers/service.py): on_edit ignore (the default), repost, update where the platform can
change a post in place and the fallback where it cannot; every decision on the record."""

from __future__ import annotations

import pytest

from socialomega.core.consumer import RetryLater
from socialomega.core.envelope import new_event
from socialomega.core.http import Outcome
from socialomega.core.store import publication_key
from socialomega.publishers.base import EditSupport, PublishResult
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from tests.unit.fakes import FakeStore, RecordingSender


class Platform:
    """A publisher that posts `post-<n>` and, when `text` is supported, changes a post's text."""

    platform = "rest"
    retry_is_safe = True

    def __init__(self, text: bool = False, updates: list[Outcome] | None = None) -> None:
        self.edits = EditSupport(text=text, delete=True, source="test")
        self.posts: list[str] = []
        self.updated: list[tuple[str, str]] = []
        self.updates = updates or []

    def publish(self, request, images, progress):
        self.posts.append(request.version)
        return PublishResult(Outcome("ok", 201), remote_id=f"post-{len(self.posts)}")

    def find_post(self, request, progress):  # pragma: no cover - retry_is_safe
        raise AssertionError("never looked up")

    def post_text(self, request):
        return f"{request.metadata.get('title')} ({request.version})"

    def update_text(self, remote_id, request, text):
        outcome = self.updates.pop(0) if self.updates else Outcome("ok", 200)
        if outcome.ok:
            self.updated.append((remote_id, text))
        return PublishResult(outcome, remote_id=remote_id)

    def delete_post(self, remote_id):  # pragma: no cover - not called here
        return Outcome("ok", 200)


def version(v: str, earlier: list[str], title: str = "Dune"):
    return new_event(
        "PublishRequested",
        "asset-1",
        {
            "target": "rest",
            "platform": "rest",
            "version": v,
            "variant": {"bucket": "b", "key": "k", "width": 1080, "height": 1350},
            "metadata": {"title": title},
            "earlier_versions": earlier,
        },
    )


def service(platform: Platform, target: dict):
    store, sender = FakeStore(), RecordingSender()
    svc = PublishService(
        Publications(store), images=None, sender=sender, event_bus="bus", publisher_for=lambda _: (platform, target)
    )
    return svc, store, sender


def record(store: FakeStore, v: str) -> dict:
    return store.get(publication_key("asset-1", v, "rest")).data


def test_by_default_an_edit_of_a_posted_photo_posts_nothing_and_says_why():
    platform = Platform()
    svc, store, sender = service(platform, {})
    assert svc.handle(version("v1", [])) == "published"
    assert svc.handle(version("v2", ["v1"], title="Dune, warmer")) == "edit_ignored"
    assert platform.posts == ["v1"]
    kept = record(store, "v2")
    assert (kept["status"], kept["remote_id"]) == ("edit_ignored", "post-1")
    assert kept["edit"]["action"] == "ignore" and "post-1" in kept["edit"]["reason"]
    assert len(sender.bus) == 1  # one PublishSucceeded, for the post that was made
    # An edit of the edit still refers to the one post.
    assert svc.handle(version("v3", ["v2", "v1"])) == "edit_ignored" and record(store, "v3")["remote_id"] == "post-1"


def test_repost_posts_every_version_again():
    platform = Platform()
    svc, store, _ = service(platform, {"on_edit": "repost"})
    svc.handle(version("v1", []))
    assert svc.handle(version("v2", ["v1"])) == "published"
    assert platform.posts == ["v1", "v2"] and record(store, "v2")["edit"]["action"] == "repost"


def test_update_changes_the_post_in_place_with_the_new_versions_caption():
    platform = Platform(text=True)
    svc, store, _ = service(platform, {"on_edit": "update"})
    svc.handle(version("v1", []))
    assert svc.handle(version("v2", ["v1"], title="Dune, warmer")) == "updated"
    assert platform.posts == ["v1"] and platform.updated == [("post-1", "Dune, warmer (v2)")]
    assert (record(store, "v2")["status"], record(store, "v2")["remote_id"]) == ("updated", "post-1")


@pytest.mark.parametrize(("fallback", "status", "posts"), [("ignore", "edit_ignored", 1), ("repost", "published", 2)])
def test_update_where_the_platform_cannot_change_a_post_does_the_fallback(fallback, status, posts):
    platform = Platform(text=False)
    svc, store, _ = service(platform, {"on_edit": "update", "on_edit_fallback": fallback})
    svc.handle(version("v1", []))
    assert svc.handle(version("v2", ["v1"])) == status
    assert len(platform.posts) == posts
    assert "cannot change a post in place" in record(store, "v2")["edit"]["reason"]


def test_an_update_the_platform_could_not_take_now_is_retried_then_done():
    platform = Platform(text=True, updates=[Outcome("retryable", 503, "http_503", "busy"), Outcome("ok", 200)])
    svc, store, _ = service(platform, {"on_edit": "update"})
    svc.handle(version("v1", []))
    with pytest.raises(RetryLater):
        svc.handle(version("v2", ["v1"]))
    assert record(store, "v2")["status"] == "retrying"
    assert svc.handle(version("v2", ["v1"])) == "updated" and platform.posts == ["v1"]


def test_a_post_deleted_on_the_platform_fails_the_update_with_the_reason():
    platform = Platform(text=True, updates=[Outcome("permanent", 404, "post_gone", "no such post")])
    svc, store, sender = service(platform, {"on_edit": "update"})
    svc.handle(version("v1", []))
    assert svc.handle(version("v2", ["v1"])) == "failed"
    assert record(store, "v2")["error"]["code"] == "post_gone" and platform.posts == ["v1"]
    assert sender.bus[-1][1].type == "PublishFailed"


def test_a_new_version_of_a_photo_never_posted_here_is_simply_published():
    platform = Platform()
    svc, store, _ = service(platform, {})
    assert svc.handle(version("v2", ["v1"])) == "published"  # v1 never reached this target
    assert "edit" not in record(store, "v2")
