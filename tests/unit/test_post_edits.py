"""Edits and deletes of published posts (issue 14): each publisher's `Editor` side against its
in-process sandbox fake over real HTTP, and the fakes' own rules for those calls."""

from __future__ import annotations

import dataclasses
import io
from typing import Any
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from socialomega.core import egress
from socialomega.core.config import ConfigError
from socialomega.platforms.facebook import publisher as fbpub
from socialomega.platforms.instagram import publisher as igpub
from socialomega.platforms.linkedin import publisher as lipub
from socialomega.platforms.rest import publisher as restpub
from socialomega.platforms.rest.settings import RestEndpoint
from socialomega.platforms.x import publisher as xpub
from socialomega.publishers.base import (
    EDIT_NOT_SUPPORTED,
    INVALID_REMOTE_ID,
    NO_EDITS,
    POST_GONE,
    Editor,
    EditSupport,
    PublishRequest,
    edit_support,
)
from socialomega.publishers.captions import build_caption
from socialomega.sandbox import facebook as fbfake
from socialomega.sandbox import instagram as igfake
from socialomega.sandbox import linkedin as lifake
from socialomega.sandbox import rest_target as restfake
from socialomega.sandbox import x as xfake
from tests.unit.fakes import MemoryCredentials, MemoryProgress

# A real socket timeout, kept short: the publisher gives up after TIMEOUT seconds, while the fake
# answers the faulted call only after FAULT_DELAY.
TIMEOUT, FAULT_DELAY = 0.4, 1.2

V1 = {"title": "Dune at dawn", "description": "Wind-shaped ridges in the first light", "keywords": ["dune", "dawn"]}
V2 = {"title": "Dunes at first light", "description": "The same ridges, retitled", "keywords": ["dune", "desert"]}


def jpeg(width: int = 1080, height: int = 1080) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 150, 90)).save(out, "JPEG", quality=85)
    return out.getvalue()


def make_request(platform: str, target: str, metadata: dict[str, Any], version: str = "v1") -> PublishRequest:
    return PublishRequest(
        "a1",
        version,
        target,
        platform,
        "corr-1",
        "bucket",
        f"processed/a1/{version}/{platform}.jpg",
        None,
        1080,
        1080,
        "image/jpeg",
        dict(metadata),
    )


class Recorder:
    """Wraps a publisher's session: every request's method, URL and headers, as sent."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.sent.append((method, url, dict(kwargs.get("headers") or {})))
        return self.session.request(method, url, **kwargs)


def record(publisher: Any) -> Recorder:
    recorder = Recorder(publisher.api.session)
    publisher.api.session = recorder
    return recorder


def assert_token_only_in_headers(recorder: Recorder, token: str) -> None:
    assert recorder.sent, "nothing was sent"
    for _method, url, headers in recorder.sent:
        assert token not in url and "access_token" not in url
        assert headers.get("Authorization") == f"Bearer {token}"


# --- the contract -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "module,expected",
    [
        (fbpub, EditSupport(text=True, image=False, delete=True)),
        (lipub, EditSupport(text=True, image=False, delete=True)),
        (igpub, EditSupport(text=False, image=False, delete=True)),
        (xpub, EditSupport(text=False, image=False, delete=True)),
    ],
)
def test_each_platform_declares_what_it_allows_with_a_source(module, expected):
    edits = module.EDITS
    assert (edits.text, edits.image, edits.delete) == (expected.text, expected.image, expected.delete)
    assert edits.source  # where the platform documents it
    publisher_class = {fbpub: "FacebookPublisher", lipub: "LinkedInPublisher", igpub: "InstagramPublisher"}.get(
        module, "XPublisher"
    )
    assert getattr(module, publisher_class).edits is edits


def test_rest_deletes_only_with_a_delete_url_and_never_edits():
    plain = restpub.RestPublisher(RestEndpoint(url="https://api.example.com/v1/posts"), {})
    deleting = restpub.RestPublisher(
        RestEndpoint(url="https://api.example.com/v1/posts", delete_url="https://api.example.com/v1/posts/{remote_id}"),
        {},
    )
    assert (plain.edits.text, plain.edits.image, plain.edits.delete) == (False, False, False)
    assert (deleting.edits.text, deleting.edits.image, deleting.edits.delete) == (False, False, True)
    assert "delete_url" in plain.edits.source


def test_edit_support_reads_any_publisher():
    assert isinstance(restpub.RestPublisher(RestEndpoint(url="https://api.example.com/p"), {}), Editor)
    assert edit_support(object()) is NO_EDITS and not NO_EDITS.delete
    edits = EditSupport(text=True, source="s")
    methods = {name: lambda *_a: None for name in ("post_text", "update_text", "delete_post")}
    assert edit_support(type("P", (), {"edits": edits, **methods})()) is edits
    with pytest.raises(dataclasses.FrozenInstanceError):
        edits.text = False  # type: ignore[misc]


# --- Facebook -----------------------------------------------------------------------------------
@pytest.fixture
def fb(mount):
    fake = fbfake.FacebookPageFake(fetch_timeout=(1.0, 2.0))
    return fake, mount(fake)


def fb_publisher(url: str, **overrides: Any) -> fbpub.FacebookPublisher:
    target = {**fbfake.sandbox_target(url, "fb-page"), **overrides}
    return fbpub.build(target, MemoryCredentials(fbfake.sandbox_secret()))


def fb_published(fb, served_images) -> tuple[fbpub.FacebookPublisher, str]:
    fake, url = fb
    request = make_request("facebook", "fb-page", V1)
    served_images.add(request.image_key, jpeg(640, 427))
    publisher = fb_publisher(url)
    result = publisher.publish(request, served_images, MemoryProgress())
    assert result.outcome.ok, result.outcome
    assert result.remote_id is not None
    return publisher, result.remote_id


def fb_calls(fake) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in fake.requests if not r["path"].startswith("/_sandbox")]


def test_facebook_update_text_changes_the_post_message_to_the_new_versions_caption(fb, served_images):
    fake, url = fb
    publisher, post_id = fb_published(fb, served_images)
    v1 = make_request("facebook", "fb-page", V1)
    assert fake.posts()[0]["caption"] == publisher.post_text(v1)  # post_text is what publish posted
    v2 = make_request("facebook", "fb-page", V2, version="v2")
    text = publisher.post_text(v2)
    assert text == build_caption("facebook", V2, fbfake.sandbox_target(url, "fb-page")).text != publisher.post_text(v1)
    recorder = record(publisher)

    result = publisher.update_text(post_id, v2, text)

    assert result.outcome.ok, result.outcome
    assert (result.remote_id, result.remote_url) == (post_id, f"https://www.facebook.com/{post_id}")
    [post] = fake.posts()
    assert (post["caption"], post["edits"], post["deleted"]) == (text, 1, False) and post["edited_at"]
    assert recorder.sent[0][:2] == ("POST", f"{url}/v25.0/{post_id}")
    assert_token_only_in_headers(recorder, fbfake.PAGE_TOKEN)
    node = requests.get(
        f"{url}/v25.0/{post_id}", params={"fields": "message"}, headers={"Authorization": f"Bearer {fbfake.PAGE_TOKEN}"}
    ).json()
    assert node["message"] == text


def test_facebook_delete_removes_the_post_and_a_second_delete_says_it_is_gone(fb, served_images):
    fake, url = fb
    publisher, post_id = fb_published(fb, served_images)
    recorder = record(publisher)

    assert publisher.delete_post(post_id).ok
    [post] = fake.posts()
    assert post["deleted"] is True and post["deleted_at"]
    assert_token_only_in_headers(recorder, fbfake.PAGE_TOKEN)
    listed = requests.get(
        f"{url}/v25.0/{fbfake.PAGE_ID}/photos",
        params={"type": "uploaded"},
        headers={"Authorization": f"Bearer {fbfake.PAGE_TOKEN}"},
    ).json()
    assert listed["data"] == []
    again = publisher.delete_post(post_id)
    assert (again.kind, again.code, again.status) == ("permanent", POST_GONE, 400)
    assert again.message.startswith("meta:100/33:")
    edited = publisher.update_text(post_id, make_request("facebook", "fb-page", V2), "too late").outcome
    assert (edited.kind, edited.code) == ("permanent", POST_GONE)


def test_facebook_unknown_post_is_gone_and_a_photo_id_cannot_be_edited(fb, served_images):
    fake, url = fb
    publisher, post_id = fb_published(fb, served_images)
    unknown = publisher.update_text(f"{fbfake.PAGE_ID}_999", make_request("facebook", "fb-page", V2), "x").outcome
    assert (unknown.kind, unknown.code) == ("permanent", POST_GONE)
    photo_id = post_id.split("_", 1)[1]
    before = len(fb_calls(fake))
    refused = publisher.update_text(photo_id, make_request("facebook", "fb-page", V2), "x").outcome
    assert (refused.kind, refused.code) == ("permanent", EDIT_NOT_SUPPORTED)
    invalid = publisher.delete_post("../me/feed")
    assert (invalid.kind, invalid.code) == ("permanent", INVALID_REMOTE_ID)
    assert len(fb_calls(fake)) == before  # neither was sent
    assert publisher.delete_post(photo_id).ok  # a photo node can be deleted (Photo.api_delete)
    assert fake.posts()[0]["deleted"] is True


def test_facebook_refuses_another_pages_post_and_a_revoked_permission(fb, served_images):
    fake, url = fb
    publisher, post_id = fb_published(fb, served_images)
    other = requests.post(
        f"{url}/v25.0/{fbfake.OTHER_PAGE_ID}/photos",
        data={"caption": "not ours"},
        files={"source": ("o.jpg", jpeg(64, 64), "image/jpeg")},
        headers={"Authorization": f"Bearer {fbfake.OTHER_PAGE_TOKEN}"},
    ).json()["post_id"]
    for outcome in (
        publisher.update_text(other, make_request("facebook", "fb-page", V2), "mine now").outcome,
        publisher.delete_post(other),
    ):
        assert (outcome.kind, outcome.status, outcome.code) == ("permanent", 403, "meta:200")
    fake.revoke("pages_manage_posts")
    denied = publisher.update_text(post_id, make_request("facebook", "fb-page", V2), "edited")
    assert (denied.outcome.kind, denied.outcome.code) == ("permanent", "meta:200")
    assert "pages_manage_posts" in denied.outcome.message
    assert (publisher.delete_post(post_id).kind, fake.posts()[0]["deleted"]) == ("permanent", False)
    assert [p["caption"] for p in fake.posts()] == [
        publisher.post_text(make_request("facebook", "fb-page", V1)),
        "not ours",
    ]


def test_facebook_expired_token_is_auth_and_a_timed_out_delete_is_retryable(fb, served_images):
    fake, url = fb
    publisher, post_id = fb_published(fb, served_images)
    fake.expire_token()
    expired = publisher.delete_post(post_id)
    assert (expired.kind, expired.code) == ("auth", "meta:190/463")
    assert fbfake.PAGE_TOKEN not in expired.message
    fake.reset()
    publisher, post_id = fb_published(fb, served_images)
    slow = fb_publisher(url, timeout_seconds=TIMEOUT)
    fake.fail_next("slow_accept", delay=FAULT_DELAY)  # deleted, but the answer comes too late
    late = slow.delete_post(post_id)
    assert (late.kind, late.code) == ("retryable", "timeout")  # safe to repeat: not "unknown"
    assert fake.posts()[0]["deleted"] is True
    assert slow.delete_post(post_id).code == POST_GONE  # the repeat finds it gone: done


def test_facebook_fake_updates_the_message_only_of_a_post(fb, served_images):
    fake, url = fb
    _publisher, post_id = fb_published(fb, served_images)
    auth = {"Authorization": f"Bearer {fbfake.PAGE_TOKEN}"}
    hidden = requests.post(f"{url}/v25.0/{post_id}", data={"is_hidden": "true"}, headers=auth)
    assert (hidden.status_code, hidden.json()["error"]["code"]) == (400, 100)
    empty = requests.post(f"{url}/v25.0/{post_id}", data={}, headers=auth)
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, 100)
    none = requests.delete(f"{url}/v25.0/{post_id}")
    assert (none.status_code, none.json()["error"]["code"]) == (400, 104)
    assert fake.posts()[0]["edits"] == 0 and not fake.posts()[0]["deleted"]


# --- Instagram ----------------------------------------------------------------------------------
@pytest.fixture
def ig(mount):
    fake = igfake.InstagramFake(processing_polls=1, fetch_timeout=2.0)
    return fake, mount(fake)


def ig_published(ig, served_images) -> tuple[igpub.InstagramPublisher, str]:
    fake, url = ig
    request = make_request("instagram", "instagram", V1)
    served_images.add(request.image_key, jpeg(1080, 1350))
    target = igfake.sandbox_target(url, "instagram-main")
    publisher = igpub.build(target, MemoryCredentials(igfake.sandbox_secret()), sleep=lambda _s: None)
    result = publisher.publish(request, served_images, MemoryProgress())
    assert result.outcome.ok, result.outcome
    assert result.remote_id is not None
    assert fake.posts()[0]["caption"] == publisher.post_text(request)
    return publisher, result.remote_id


def ig_get(url: str, node: str) -> requests.Response:
    return requests.get(f"{url}/v25.0/{node}", params={"fields": "caption"}, headers=ig_auth())


def ig_auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {igfake.ACCESS_TOKEN}"}


def test_instagram_caption_is_not_editable_and_nothing_is_sent(ig, served_images):
    fake, _url = ig
    publisher, media_id = ig_published(ig, served_images)
    before = len(fake.requests)
    result = publisher.update_text(media_id, make_request("instagram", "instagram", V2), "new caption")
    assert (result.outcome.kind, result.outcome.code) == ("permanent", EDIT_NOT_SUPPORTED)
    assert "IGMedia.api_update" in result.outcome.message
    assert len(fake.requests) == before and fake.posts()[0]["caption"] != "new caption"


def test_instagram_delete_removes_the_media_and_a_second_delete_says_it_is_gone(ig, served_images):
    fake, url = ig
    publisher, media_id = ig_published(ig, served_images)
    recorder = record(publisher)

    assert publisher.delete_post(media_id).ok

    assert recorder.sent[0][:2] == ("DELETE", f"{url}/v25.0/{media_id}")
    assert_token_only_in_headers(recorder, igfake.ACCESS_TOKEN)
    [post] = fake.posts()
    assert post["deleted"] is True
    gone = ig_get(url, media_id)
    assert (gone.status_code, gone.json()["error"]["error_subcode"]) == (400, 33)
    listed = requests.get(f"{url}/v25.0/{igfake.IG_USER_ID}/media", headers=ig_auth()).json()
    assert listed["data"] == []
    again = publisher.delete_post(media_id)
    assert (again.kind, again.code) == ("permanent", POST_GONE)
    unknown = publisher.delete_post("17900000000000000")
    assert (unknown.kind, unknown.code) == ("permanent", POST_GONE)


def test_instagram_delete_without_the_permission_is_refused(ig, served_images):
    fake, _url = ig
    publisher, media_id = ig_published(ig, served_images)
    fake.revoke("instagram_manage_contents")
    denied = publisher.delete_post(media_id)
    assert (denied.kind, denied.status, denied.code) == ("permanent", 400, "meta:10")
    assert fake.posts()[0]["deleted"] is False
    fake.expire_token()
    assert publisher.delete_post(media_id).kind == "auth"


def test_instagram_fake_changes_comment_enabled_only(ig, served_images):
    fake, url = ig
    _publisher, media_id = ig_published(ig, served_images)
    caption = requests.post(f"{url}/v25.0/{media_id}", data={"caption": "edited"}, headers=ig_auth())
    assert (caption.status_code, caption.json()["error"]["code"]) == (400, 100)
    assert "caption" in caption.json()["error"]["message"]
    toggled = requests.post(f"{url}/v25.0/{media_id}", data={"comment_enabled": "false"}, headers=ig_auth())
    assert toggled.json() == {"success": True}
    [post] = fake.posts()
    assert (post["comment_enabled"], ig_get(url, media_id).json()["caption"]) == (False, post["caption"])


# --- X ------------------------------------------------------------------------------------------
@pytest.fixture
def xs(mount):
    fake = xfake.XFake()
    return fake, mount(fake)


def x_published(xs, served_images, credentials=None) -> tuple[xpub.XPublisher, str]:
    fake, url = xs
    request = make_request("x", "x-main", V1)
    served_images.add(request.image_key, jpeg(640, 480))
    publisher = xpub.build(
        xfake.sandbox_target(url, "x-main"), credentials or MemoryCredentials(xfake.sandbox_secret())
    )
    result = publisher.publish(request, served_images, MemoryProgress())
    assert result.outcome.ok, result.outcome
    assert result.remote_id is not None
    assert fake.posts()[0]["text"] == publisher.post_text(request)
    return publisher, result.remote_id


def x_calls(fake) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in fake.request_log() if r["path"].startswith("/2/")]


def test_x_text_is_not_edited_and_nothing_is_sent(xs, served_images):
    fake, _url = xs
    publisher, post_id = x_published(xs, served_images)
    before = len(x_calls(fake))
    result = publisher.update_text(post_id, make_request("x", "x-main", V2), "new text")
    assert (result.outcome.kind, result.outcome.code) == ("permanent", EDIT_NOT_SUPPORTED)
    assert "Premium" in result.outcome.message or "edit-posts" in result.outcome.message
    assert len(x_calls(fake)) == before


def test_x_delete_removes_the_post_and_a_second_delete_says_it_is_gone(xs, served_images):
    fake, url = xs
    publisher, post_id = x_published(xs, served_images)
    recorder = record(publisher)

    assert publisher.delete_post(post_id).ok

    assert x_calls(fake)[-1] == ("DELETE", f"/2/tweets/{post_id}", 200)
    assert_token_only_in_headers(recorder, xfake.ACCESS_TOKEN)
    [post] = fake.posts()
    assert post["deleted"] is True and post["deleted_at"]
    lookup = requests.get(
        f"{url}/2/tweets", params={"ids": post_id}, headers={"Authorization": f"Bearer {xfake.ACCESS_TOKEN}"}
    ).json()
    assert "data" not in lookup and lookup["errors"][0]["title"] == "Not Found Error"
    again = publisher.delete_post(post_id)
    assert (again.kind, again.status, again.code) == ("permanent", 404, POST_GONE)
    assert "x:resource-not-found" in again.message
    invalid = publisher.delete_post("12/../34")
    assert (invalid.kind, invalid.code) == ("permanent", INVALID_REMOTE_ID)


def test_x_refuses_another_accounts_post_and_a_revoked_write_grant(xs, served_images):
    fake, _url = xs
    publisher, post_id = x_published(xs, served_images)
    foreign = fake.add_foreign_post("someone else's")
    refused = publisher.delete_post(foreign)
    assert (refused.kind, refused.status) == ("permanent", 403)
    fake.revoke("tweet.write")
    denied = publisher.delete_post(post_id)
    assert (denied.kind, denied.status) == ("permanent", 403)
    assert fake.posts()[0]["deleted"] is False


def test_x_delete_after_the_token_expired_refreshes_once_and_deletes(xs, served_images):
    fake, _url = xs
    credentials = MemoryCredentials(xfake.sandbox_secret())
    publisher, post_id = x_published(xs, served_images, credentials)
    fake.expire_token()
    assert publisher.delete_post(post_id).ok
    assert len(credentials.writes) == 1 and fake.posts()[0]["deleted"] is True
    deletes = [c for c in x_calls(fake) if c[0] == "DELETE"]
    assert deletes == [("DELETE", f"/2/tweets/{post_id}", 401), ("DELETE", f"/2/tweets/{post_id}", 200)]


def test_x_fake_refuses_edits_and_lets_a_deleted_posts_text_be_posted_again(xs, served_images):
    fake, url = xs
    publisher, post_id = x_published(xs, served_images)
    auth = {"Authorization": f"Bearer {xfake.ACCESS_TOKEN}"}
    text = fake.posts()[0]["text"]
    edit = requests.post(
        f"{url}/2/tweets", json={"text": "edited", "edit_options": {"previous_post_id": post_id}}, headers=auth
    )
    assert (edit.status_code, edit.json()["title"]) == (403, "Forbidden") and len(fake.posts()) == 1
    duplicate = requests.post(f"{url}/2/tweets", json={"text": text}, headers=auth)
    assert duplicate.status_code == 403  # same text as a live post of the last 24 h
    assert publisher.delete_post(post_id).ok
    assert requests.post(f"{url}/2/tweets", json={"text": text}, headers=auth).status_code == 201


# --- LinkedIn -----------------------------------------------------------------------------------
@pytest.fixture
def li(mount):
    fake = lifake.LinkedInFake()
    return fake, mount(fake)


def li_published(li, served_images) -> tuple[lipub.LinkedInPublisher, str]:
    fake, url = li
    request = make_request("linkedin", "li-main", V1)
    served_images.add(request.image_key, jpeg(800, 600))
    publisher = lipub.build(lifake.sandbox_target(url, "li-main"), MemoryCredentials(lifake.sandbox_secret()))
    publisher.sleep = lambda _s: None
    result = publisher.publish(request, served_images, MemoryProgress())
    assert result.outcome.ok, result.outcome
    assert result.remote_id is not None
    assert fake.posts()[0]["commentary"] == publisher.post_text(request)
    return publisher, result.remote_id


def li_headers() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {lifake.ACCESS_TOKEN}",
        "Linkedin-Version": lifake.sandbox_version(),
        "X-Restli-Protocol-Version": "2.0.0",
    }


def li_post_url(url: str, urn: str) -> str:
    return f"{url}/rest/posts/{quote(urn, safe='')}"


def test_linkedin_update_text_patches_the_commentary_in_place(li, served_images):
    fake, url = li
    publisher, urn = li_published(li, served_images)
    created = fake.posts()[0]["last_modified_at"]
    v2 = make_request("linkedin", "li-main", V2, version="v2")
    text = publisher.post_text(v2)
    recorder = record(publisher)

    result = publisher.update_text(urn, v2, text)

    assert result.outcome.ok and result.outcome.status == 204
    assert (result.remote_id, result.remote_url) == (urn, f"https://www.linkedin.com/feed/update/{urn}/")
    method, sent_url, headers = recorder.sent[0]
    assert (method, sent_url, headers["X-RestLi-Method"]) == ("POST", li_post_url(url, urn), "PARTIAL_UPDATE")
    assert_token_only_in_headers(recorder, lifake.ACCESS_TOKEN)
    [post] = fake.posts()
    assert (post["commentary"], post["edits"]) == (text, 1) and post["last_modified_at"] >= created
    assert post["image_urn"] and post["alt_text"] == V1["description"]  # the media is not touched
    assert requests.get(li_post_url(url, urn), headers=li_headers()).json()["commentary"] == text


def test_linkedin_delete_is_idempotent_and_edits_after_it_are_gone(li, served_images):
    fake, url = li
    publisher, urn = li_published(li, served_images)
    assert publisher.delete_post(urn).ok
    assert fake.posts()[0]["deleted"] is True
    assert requests.get(li_post_url(url, urn), headers=li_headers()).status_code == 404
    again = publisher.delete_post(urn)
    assert (again.kind, again.status) == ("ok", 204)  # "Post deletions are idempotent"
    edited = publisher.update_text(urn, make_request("linkedin", "li-main", V2), "too late").outcome
    assert (edited.kind, edited.status, edited.code) == ("permanent", 404, POST_GONE)
    never = publisher.delete_post("urn:li:share:42")
    assert (never.kind, never.code) == ("permanent", POST_GONE)
    invalid = publisher.delete_post("urn:li:person:SbxMember01")
    assert (invalid.kind, invalid.code) == ("permanent", INVALID_REMOTE_ID)


def test_linkedin_refuses_someone_elses_post_and_a_revoked_permission(li, served_images):
    fake, _url = li
    publisher, urn = li_published(li, served_images)
    foreign = fake.add_foreign_post("not ours")
    for outcome in (
        publisher.update_text(foreign, make_request("linkedin", "li-main", V2), "mine").outcome,
        publisher.delete_post(foreign),
    ):
        assert (outcome.kind, outcome.status, outcome.code) == ("permanent", 403, "linkedin:ACCESS_DENIED")
    fake.revoke("w_member_social")
    denied = publisher.update_text(urn, make_request("linkedin", "li-main", V2), "edited").outcome
    assert (denied.kind, denied.status) == ("permanent", 403)
    assert publisher.delete_post(urn).status == 403
    assert [(p["deleted"], p["edits"]) for p in fake.posts()] == [(False, 0), (False, 0)]
    fake.expire_token()
    assert publisher.delete_post(urn).kind == "auth"


def test_linkedin_fake_updates_only_the_updatable_fields_with_partial_update(li, served_images):
    fake, url = li
    _publisher, urn = li_published(li, served_images)
    headers = {**li_headers(), "X-RestLi-Method": "PARTIAL_UPDATE"}
    media = requests.post(li_post_url(url, urn), json={"patch": {"$set": {"content": {}}}}, headers=headers)
    assert (media.status_code, media.json()["code"]) == (422, "FIELD_NOT_UPDATABLE")
    plain = requests.post(li_post_url(url, urn), json={"patch": {"$set": {"commentary": "x"}}}, headers=li_headers())
    assert (plain.status_code, plain.json()["code"]) == (400, "ILLEGAL_ARGUMENT")
    long = requests.post(li_post_url(url, urn), json={"patch": {"$set": {"commentary": "x" * 3001}}}, headers=headers)
    assert (long.status_code, long.json()["code"]) == (422, "FIELD_VALUE_TOO_LONG")
    assert fake.posts()[0]["edits"] == 0


# --- the generic REST target --------------------------------------------------------------------
@pytest.fixture
def rest(mount):
    fake = restfake.RestTarget()
    return fake, mount(fake)


def rest_publisher(
    url: str, api_key: str = restfake.API_KEY, **overrides: Any
) -> tuple[restpub.RestPublisher, Recorder]:
    endpoint = RestEndpoint.model_validate(
        {
            "url": f"{url}/v1/posts",
            "auth": {"type": "api_key"},
            "allow_private_network": True,
            "delete_url": f"{url}/v1/posts/{{remote_id}}",
            **overrides,
        }
    )
    recorder = Recorder(egress.session(endpoint.egress_policy()))
    return restpub.RestPublisher(endpoint, {"api_key": api_key}, session=recorder), recorder


def test_rest_delete_calls_the_configured_endpoint_and_a_second_delete_is_gone(rest, served_images):
    fake, url = rest
    publisher, recorder = rest_publisher(url)
    request = make_request("rest", "rest", V1)
    served_images.add(request.image_key, jpeg(64, 64))
    result = publisher.publish(request, served_images, MemoryProgress())
    assert result.outcome.ok and result.remote_id is not None

    assert publisher.delete_post(result.remote_id).ok

    assert recorder.sent[-1][:2] == ("DELETE", f"{url}/v1/posts/{result.remote_id}")
    assert recorder.sent[-1][2]["X-Api-Key"] == restfake.API_KEY and restfake.API_KEY not in recorder.sent[-1][1]
    assert fake.posts[result.remote_id]["deleted_at"] and [r["kind"] for r in fake.received] == ["post", "delete"]
    assert (
        requests.get(f"{url}/v1/posts/{result.remote_id}", headers={"X-Api-Key": restfake.API_KEY}).status_code == 404
    )
    again = publisher.delete_post(result.remote_id)
    assert (again.kind, again.status, again.code) == ("permanent", 404, POST_GONE)
    odd = publisher.delete_post("a/../b")  # percent-encoded: one path segment, no other resource
    assert recorder.sent[-1][1] == f"{url}/v1/posts/a%2F..%2Fb" and odd.code == POST_GONE


def test_rest_delete_with_a_read_only_key_or_without_delete_url(rest):
    _fake, url = rest
    readonly, _recorder = rest_publisher(url, api_key=restfake.READONLY_API_KEY)
    denied = readonly.delete_post("post_000001")
    assert (denied.kind, denied.status) == ("permanent", 403)
    plain, recorder = rest_publisher(url, delete_url=None)
    refused = plain.delete_post("post_000001")
    assert (refused.kind, refused.code) == ("permanent", EDIT_NOT_SUPPORTED) and recorder.sent == []
    edited = plain.update_text("post_000001", make_request("rest", "rest", V2), "x").outcome
    assert edited.code == EDIT_NOT_SUPPORTED


def test_rest_delete_url_needs_one_placeholder_and_an_allowed_host():
    with pytest.raises(ValueError, match="remote_id"):
        RestEndpoint(url="https://api.example.com/v1/posts", delete_url="https://api.example.com/v1/posts")
    endpoint = RestEndpoint(
        url="https://api.example.com/v1/posts",
        delete_url="https://elsewhere.example.net/posts/{remote_id}",
        allowed_hosts=["api.example.com"],
    )
    outcome = restpub.RestPublisher(endpoint, {}).delete_post("p1")
    assert (outcome.kind, outcome.code) == ("permanent", "unsafe_destination")
    with pytest.raises(ConfigError):
        RestEndpoint(url="https://api.example.com/v1/posts").delete_url_for("p1")


def test_rest_post_text_follows_the_metadata_its_body_is_rendered_from():
    publisher = restpub.RestPublisher(RestEndpoint(url="https://api.example.com/v1/posts"), {})
    v1, v2 = make_request("rest", "rest", V1), make_request("rest", "rest", V2)
    assert '"title": "Dune at dawn"' in publisher.post_text(v1)
    assert publisher.post_text(v1) != publisher.post_text(v2)
    assert publisher.post_text(v1) == publisher.post_text(make_request("rest", "rest", V1))
