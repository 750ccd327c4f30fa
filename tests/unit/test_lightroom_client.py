"""LightroomClient against the sandbox's fake Lightroom API, served in-process over real HTTP."""

from __future__ import annotations

import io
import json

import pytest
import requests
from PIL import Image, ImageOps

from socialomega.core import logging as solog
from socialomega.poller.lightroom import (
    LightroomAsset,
    LightroomAuthError,
    LightroomCatalogChanged,
    LightroomClient,
    LightroomError,
    LightroomNotFound,
    LightroomUnavailable,
    strip_json_prefix,
)

SANDBOX_SEED = 5


class SleepRecorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(sandbox, sleeps=None, **kwargs) -> LightroomClient:
    creds = sandbox.credentials
    return LightroomClient(
        sandbox.lightroom_url,
        creds["lightroom_api_key"],
        creds["lightroom_token"],
        sleep=sleeps if sleeps is not None else SleepRecorder(),
        **{"allow_private_network": True, **kwargs},
    )


def api_calls(state, fragment: str) -> list[dict]:
    with state.lock:
        return [r for r in state.requests if fragment in r["path"]]


# --- prefix -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        'while (1) {}\n{"a": 1}',
        'while(1){}{"a": 1}',
        'while ( 1 ) { }  \n\n{"a": 1}',
        '{"a": 1}',
    ],
)
def test_prefix_is_stripped_with_adobes_regex(raw):
    assert json.loads(strip_json_prefix(raw)) == {"a": 1}


def test_error_bodies_are_parsed_through_the_prefix(sandbox, lr):
    client = make_client(sandbox)
    with pytest.raises(LightroomNotFound) as exc:
        client.asset("0" * 32)
    assert exc.value.status == 404
    assert exc.value.code == 1000
    assert exc.value.description == "Resource not found"
    assert exc.value.errors == {"asset": ["does not exist"]}


# --- catalog, pagination ------------------------------------------------------------------------
def test_catalog_and_health(sandbox, lr):
    client = make_client(sandbox)
    assert client.health()["version"]
    assert client.catalog()["type"] == "catalog"
    assert client.catalog_id == lr.catalog_id


def test_assets_follow_relative_next_links_across_more_than_two_pages(sandbox, lr):
    client = make_client(sandbox)
    ids = [a.id for a in client.assets(limit=3)]
    assert len(ids) == len(set(ids)) == len(lr.assets)
    assert set(ids) == set(lr.assets)
    pages = api_calls(lr, "/assets")
    assert len(pages) >= 4
    assert all(r["status"] == 200 for r in pages)
    # the follow-up pages were requested with the cursor from links.next, resolved against base
    assert all("captured_before=" in r["query"] for r in pages[1:])
    assert all(r["path"] == f"/v2/catalogs/{lr.catalog_id}/assets" for r in pages)


def test_assets_map_to_lightroom_asset(sandbox, lr):
    client = make_client(sandbox)
    first = next(iter(lr.assets.values()))
    asset = client.asset(first.id)
    assert isinstance(asset, LightroomAsset)
    assert asset.id == first.id
    assert asset.version == client.asset_document(first.id)["updated"]
    assert asset.title == first.title
    assert asset.description == first.description
    assert sorted(asset.keywords) == sorted(first.keywords)
    assert asset.camera_make == first.photo.make and asset.camera_model == first.photo.model
    assert asset.lens == first.photo.lens
    assert asset.file_name == first.photo.file_name
    assert (asset.width, asset.height) == (first.photo.width, first.photo.height)
    assert asset.capture_date == first.photo.capture_date
    assert "location" not in json.dumps(asset.metadata())


def test_album_selection_and_album_pagination(sandbox, lr):
    client = make_client(sandbox)
    album = client.find_album("Publish")
    assert album is not None and album["payload"]["name"] == "Publish"
    assert client.find_album("No such album") is None
    got = [a.id for a in client.album_assets(album["id"], limit=2)]
    expected = lr.album_by_name("Publish").asset_ids
    assert sorted(got) == sorted(expected)
    assert len(got) < len(lr.assets)  # some photos are not in the album
    assert len(api_calls(lr, f"/albums/{album['id']}/assets")) >= 3
    # embed=asset: full documents, titles included
    assert all(isinstance(a, LightroomAsset) and a.version for a in client.album_assets(album["id"]))


def test_updated_since_returns_only_edited_assets(sandbox, lr):
    client = make_client(sandbox)
    target = list(lr.assets)[2]
    before = client.asset(target).version
    new_version = sandbox.edit_photo(target, title="Edited in test")
    assert new_version > before
    changed = list(client.assets(updated_since=new_version))
    assert [a.id for a in changed] == [target]
    assert changed[0].title == "Edited in test" and changed[0].version == new_version


# --- errors and retries -------------------------------------------------------------------------
def test_expired_token_is_an_auth_error_without_retries(sandbox, lr):
    sandbox.expire_lightroom_token()
    sleeps = SleepRecorder()
    with pytest.raises(LightroomAuthError) as exc:
        make_client(sandbox, sleeps).catalog()
    assert exc.value.status == 401 and exc.value.code == "4002"
    assert sleeps.calls == [] and len(api_calls(lr, "/v2/catalog")) == 1


def test_bad_api_key_is_an_auth_error(sandbox, lr):
    client = LightroomClient(
        sandbox.lightroom_url, "wrong-key", "sandbox-access-token", sleep=SleepRecorder(), allow_private_network=True
    )
    with pytest.raises(LightroomAuthError) as exc:
        client.health()
    assert exc.value.status == 403 and exc.value.code == "403003"


def test_503_then_success_is_retried_with_backoff(sandbox, lr):
    sleeps = SleepRecorder()
    client = make_client(sandbox, sleeps, rng=lambda: 1.0, backoff_base=0.5)
    sandbox.fail_lightroom_next(2, status=503)
    assert client.catalog()["id"] == lr.catalog_id
    assert sleeps.calls == [0.5, 1.0]  # exponential (jitter pinned to its maximum)
    statuses = [r["status"] for r in api_calls(lr, "/v2/catalog")]
    assert statuses == [503, 503, 200]


def test_429_exhausts_three_retries_honouring_retry_after(sandbox, lr):
    sleeps = SleepRecorder()
    client = make_client(sandbox, sleeps)
    sandbox.fail_lightroom_next(10, status=429, retry_after=2)
    with pytest.raises(LightroomUnavailable) as exc:
        client.catalog()
    assert exc.value.attempts == 4 and exc.value.status == 429 and exc.value.retry_after == 2
    assert sleeps.calls == [2, 2, 2]
    assert [r["status"] for r in api_calls(lr, "/v2/catalog")] == [429] * 4


def test_retry_after_too_long_fails_fast(sandbox, lr):
    sleeps = SleepRecorder()
    sandbox.fail_lightroom_next(1, status=429, retry_after=3600)
    with pytest.raises(LightroomUnavailable):
        make_client(sandbox, sleeps, max_retry_after=60).catalog()
    assert sleeps.calls == []


def test_500_exhausted_maps_to_unavailable_with_jittered_backoff(sandbox, lr):
    sleeps = SleepRecorder()
    sandbox.fail_lightroom_next(4, status=500)
    with pytest.raises(LightroomUnavailable) as exc:
        make_client(sandbox, sleeps, rng=lambda: 0.25, backoff_base=1.0, backoff_max=3.0).catalog()
    assert exc.value.status == 500
    assert sleeps.calls == [0.25, 0.5, 0.75]  # full jitter on min(cap, base * 2**n)


def test_timeouts_are_retried(sandbox, lr):
    sleeps = SleepRecorder()
    sandbox.fail_lightroom_next(1, status=None, delay=0.6)
    client = make_client(sandbox, sleeps, timeout=(1.0, 0.2))
    assert client.catalog()["id"] == lr.catalog_id
    assert len(sleeps.calls) == 1


def test_changed_catalog_id_is_reported_and_refetched(sandbox, lr):
    client = make_client(sandbox, catalog_id="f" * 32)
    with pytest.raises(LightroomCatalogChanged) as exc:
        list(client.assets())
    assert exc.value.errors == {"catalog": ["does not exist"]}
    assert client.catalog_id == lr.catalog_id  # fetched again
    assert list(client.assets(limit=500))


def test_tokens_never_reach_logs_or_errors(sandbox, lr):
    out = io.StringIO()
    solog.configure(stream=out)
    try:
        sandbox.fail_lightroom_next(1, status=503)
        client = make_client(sandbox)
        client.catalog()
        sandbox.expire_lightroom_token()
        with pytest.raises(LightroomAuthError) as exc:
            client.catalog()
    finally:
        solog._configured = False
        solog.configure()
    assert "lightroom_retry" in out.getvalue()
    for secret in ("sandbox-access-token",):
        assert secret not in out.getvalue() and secret not in str(exc.value) and secret not in repr(client)


# --- renditions ---------------------------------------------------------------------------------
def test_rendition_2048_keeps_orientation_and_gps(sandbox, lr):
    client = make_client(sandbox)
    sideways = next(a for a in lr.assets.values() if a.photo.orientation == 6 and a.photo.gps)
    data = client.rendition(sideways.id, "2048")
    img = Image.open(io.BytesIO(data))
    assert max(img.size) == 2048
    exif = img.getexif()
    assert exif[0x0112] == 6 and exif.get_ifd(0x8825)
    upright = ImageOps.exif_transpose(img)
    assert upright.width < upright.height  # portrait once rotated
    r, g, b = upright.convert("RGB").getpixel((5, 5))
    assert r > 150 and g < 100 and b < 100  # the red marker sits top-left when displayed


def test_fullsize_is_generated_then_polled_with_head(sandbox, lr):
    import time as _time

    lr.rendition_generation_delay = 0.25
    asset = next(a for a in lr.assets.values() if max(a.photo.width, a.photo.height) <= 2000)
    client = make_client(sandbox, sleeps=_time.sleep)
    data = client.rendition(asset.id, "fullsize", poll_initial=0.05)
    assert Image.open(io.BytesIO(data)).size == (asset.photo.stored_width, asset.photo.stored_height)
    calls = api_calls(lr, f"/assets/{asset.id}/renditions")
    methods = [(r["method"], r["status"]) for r in calls]
    assert methods[0] == ("HEAD", 404) and ("POST", 202) in methods and methods[-1] == ("GET", 200)
    assert sum(1 for m in methods if m[0] == "HEAD") >= 2
    # without generation, a missing on-demand rendition is a NotFound
    other = next(a for a in lr.assets.values() if a.id != asset.id)
    with pytest.raises(LightroomNotFound):
        client.rendition(other.id, "2560", generate=False)


def test_unknown_rendition_type_is_rejected_client_side(sandbox, lr):
    with pytest.raises(ValueError):
        make_client(sandbox).rendition(next(iter(lr.assets)), "4096")


def test_client_errors_keep_code_and_description(sandbox, lr):
    client = make_client(sandbox)
    with pytest.raises(LightroomError) as exc:
        client.asset("not-a-guid")
    assert exc.value.status == 400 and exc.value.code == 1005
    assert exc.value.errors == {"asset_id": ["Must be a valid GUID"]}
    assert not isinstance(exc.value, (LightroomAuthError, LightroomNotFound, LightroomUnavailable))


def test_client_requires_credentials():
    with pytest.raises(ValueError):
        LightroomClient("http://127.0.0.1:1", "", "token")
    assert requests  # the client is plain requests


# --- token refresh (Adobe IMS) ------------------------------------------------------------------
def refreshing_client(sandbox, creds_value):
    from socialomega.core.oauth import RotatingToken
    from socialomega.sandbox import lightroom as fake
    from tests.unit.fakes import MemoryCredentials

    creds = MemoryCredentials(creds_value)
    tokens = RotatingToken(
        creds,
        sandbox.lightroom_url + fake.IMS_TOKEN_PATH,
        client_auth="body",
        session=requests.Session(),
        timeout=5,
        log=solog.get_logger(service="test"),
        what="Lightroom",
    )
    return make_client(sandbox, tokens=tokens), creds


def lightroom_secret(sandbox, **overrides):
    creds = sandbox.credentials
    return {
        "client_id": creds["lightroom_api_key"],
        "client_secret": creds["lightroom_client_secret"],
        "access_token": creds["lightroom_token"],
        "refresh_token": creds["lightroom_refresh_token"],
        **overrides,
    }


def test_an_expired_token_is_refreshed_once_and_the_call_repeated(sandbox, lr):
    client, creds = refreshing_client(sandbox, lightroom_secret(sandbox))
    sandbox.expire_lightroom_token()
    assert client.account()["type"] == "account"
    assert [r["status"] for r in api_calls(lr, "/v2/account")] == [401, 200]
    assert lr.token_refreshes == 1
    assert creds.writes[-1]["refresh_token"] == "sandbox-refresh-token-1"
    client.catalog()  # the new token keeps working: no second refresh
    assert lr.token_refreshes == 1


def test_a_refused_refresh_is_an_auth_error_that_names_no_token(sandbox, lr):
    client, _ = refreshing_client(sandbox, lightroom_secret(sandbox, refresh_token="revoked"))
    sandbox.expire_lightroom_token()
    with pytest.raises(LightroomAuthError, match="refused the refresh token") as exc:
        client.account()
    assert exc.value.status == 400 and "revoked" not in str(exc.value)
    assert [r["status"] for r in api_calls(lr, "/v2/account")] == [401]


def test_without_a_token_source_an_expired_token_is_an_auth_error(sandbox, lr):
    sandbox.expire_lightroom_token()
    with pytest.raises(LightroomAuthError):
        make_client(sandbox).account()
    assert lr.token_refreshes == 0


# --- answers broken in transit: retried like a 5xx ----------------------------------------------
def break_next(sandbox, kind: str, count: int = 1, path_contains: str | None = None) -> None:
    resp = requests.post(
        sandbox.lightroom_url + "/_sandbox/faults",
        json={"kind": kind, "count": count, "path_contains": path_contains},
        timeout=5,
    )
    resp.raise_for_status()


@pytest.mark.parametrize("kind", ["cut_body", "cut_chunked"])
def test_a_rendition_cut_mid_body_is_fetched_again(sandbox, lr, kind):
    asset = next(iter(lr.assets.values()))
    whole = make_client(sandbox).rendition(asset.id, "1280")
    lr.requests.clear()
    sleeps = SleepRecorder()
    break_next(sandbox, kind, path_contains="/renditions/1280")
    assert make_client(sandbox, sleeps, rng=lambda: 1.0).rendition(asset.id, "1280") == whole
    assert [(r["status"], r["fault"]) for r in api_calls(lr, "/renditions/1280")] == [(200, kind), (200, None)]
    assert sleeps.calls == [0.5]


def test_a_rendition_cut_on_every_attempt_is_unavailable_after_the_retries(sandbox, lr):
    from socialomega.poller.sources import SourceUnavailable

    asset = next(iter(lr.assets.values()))
    break_next(sandbox, "cut_chunked", count=10, path_contains="/renditions/640")
    with pytest.raises(LightroomUnavailable, match="ChunkedEncodingError after 4 attempts") as exc:
        make_client(sandbox).rendition(asset.id, "640")
    assert isinstance(exc.value, SourceUnavailable) and exc.value.attempts == 4


class ScriptedSession:
    """A session answering from a script: (status, headers, body) per request."""

    def __init__(self, answers) -> None:
        self.answers = list(answers)
        self.timeouts: list = []

    def request(self, method, url, **kwargs):
        self.timeouts.append(kwargs.get("timeout"))
        status, headers, body = self.answers.pop(0)
        resp = requests.Response()
        resp.status_code, resp.url, resp.raw = status, url, io.BytesIO(body)
        resp.headers.update(headers)
        return resp


def test_a_body_shorter_than_its_content_length_is_fetched_again_whatever_the_transport():
    jpeg = b"\xff\xd8" + b"x" * 98
    session = ScriptedSession(
        [
            (
                200,
                {"Content-Type": "image/jpeg", "Content-Length": "100"},
                jpeg[:60],
            ),  # urllib3 would raise; a raw read does not
            (200, {"Content-Type": "image/jpeg", "Content-Length": "100"}, jpeg),
        ]
    )
    sleeps = SleepRecorder()
    client = LightroomClient("https://lr.adobe.io/", "key", "token", session=session, sleep=sleeps, catalog_id="c" * 32)
    assert client.rendition("a" * 32, "2048") == jpeg
    assert len(sleeps.calls) == 1 and not session.answers


def test_invalid_json_on_a_200_is_retried(sandbox, lr):
    sleeps = SleepRecorder()
    break_next(sandbox, "invalid_json", path_contains="/v2/catalog")
    assert make_client(sandbox, sleeps).catalog()["id"] == lr.catalog_id
    assert [(r["status"], r["fault"]) for r in api_calls(lr, "/v2/catalog")] == [(200, "invalid_json"), (200, None)]
    assert len(sleeps.calls) == 1
    break_next(sandbox, "invalid_json", count=10, path_contains="/v2/catalog")
    with pytest.raises(LightroomUnavailable, match="not JSON.*after 4 attempts"):
        make_client(sandbox).catalog()


# --- the invocation's deadline ------------------------------------------------------------------
def test_a_retry_after_longer_than_the_time_left_is_not_slept_on(sandbox, lr):
    from socialomega.core import deadline

    sleeps = SleepRecorder()
    sandbox.fail_lightroom_next(1, status=429, retry_after=30)
    with deadline.bound(deadline.Deadline.in_seconds(10)), pytest.raises(deadline.DeadlineReached, match="429"):
        make_client(sandbox, sleeps).catalog()  # 7 s left: a 30 s wait and a call do not fit
    assert sleeps.calls == [] and len(api_calls(lr, "/v2/catalog")) == 1
    sandbox.fail_lightroom_next(1, status=429, retry_after=2)
    with deadline.bound(deadline.Deadline.in_seconds(10)):
        assert make_client(sandbox, sleeps).catalog()["id"] == lr.catalog_id  # 2 s fits: waited
    assert sleeps.calls == [2]


def test_each_call_gets_at_most_the_time_left_and_none_is_sent_without_enough(sandbox, lr):
    from socialomega.core import deadline

    class Recording:
        def __init__(self, session) -> None:
            self.session, self.timeouts = session, []

        def request(self, method, url, **kwargs):
            self.timeouts.append(kwargs["timeout"])
            return self.session.request(method, url, **kwargs)

    client = make_client(sandbox, timeout=(3.05, 30.0))
    client.session = Recording(client.session)
    with deadline.bound(deadline.Deadline.in_seconds(8)):  # 5 s left after the margin
        client.catalog()
    [(connect, read)] = client.session.timeouts
    assert connect == 3.05 and 0 < read <= 5.0
    lr.requests.clear()
    with deadline.bound(deadline.Deadline.in_seconds(3.5)), pytest.raises(deadline.DeadlineReached, match="not sent"):
        client.account()
    assert lr.requests == [] and len(client.session.timeouts) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_wait_for_a_rendition_being_generated_stops_at_the_deadline(sandbox, lr, monkeypatch):
    from socialomega.core import deadline
    from socialomega.poller.lightroom import RenditionPending
    from socialomega.poller.sources import PhotoNotReady

    clock = FakeClock()
    monkeypatch.setattr(deadline, "time", clock)  # the deadline module's clock; the client sleeps on it
    lr.rendition_generation_delay = 10_000  # Lightroom takes ages
    asset = list(lr.assets.values())[1]
    client = make_client(sandbox, sleeps=clock.sleep)
    try:
        usable_37_seconds = deadline.bound(deadline.Deadline(clock.now + 40))
        with usable_37_seconds, pytest.raises(RenditionPending, match="at this invocation's deadline") as exc:
            client.rendition(asset.id, "fullsize")  # the default wait_timeout is 600 s
        assert isinstance(exc.value, PhotoNotReady) and exc.value.waited == 31  # 1+2+4+8+16; 30 more would not fit
        assert clock.now - 1000.0 == 31 <= 37
        heads = [r for r in api_calls(lr, f"/assets/{asset.id}/renditions/fullsize") if r["method"] == "HEAD"]
        assert len(heads) == 7  # one before asking, one right after, one after each of the 5 waits
        with pytest.raises(RenditionPending, match="after 7 s"):  # and its own bound, with no deadline
            client.rendition(asset.id, "fullsize", wait_timeout=5)
    finally:
        asset.generated.clear()
