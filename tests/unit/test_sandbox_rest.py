"""The generic REST target: auth modes, validation, recording, faults, idempotency."""

from __future__ import annotations

import io
import time

import pytest
import requests
from PIL import Image

POST = {"title": "Hello", "image_url": "https://img.example.com/a.jpg"}


SANDBOX_SEED = 2
SANDBOX_PHOTO_COUNT = 0  # the REST target only: no Lightroom photos needed


@pytest.fixture
def rest(sandbox):
    sandbox.rest.reset()
    return sandbox


def key(sandbox):
    return {"X-Api-Key": sandbox.credentials["rest_api_key"]}


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, "JPEG")
    return buf.getvalue()


def test_post_with_api_key_is_recorded_without_credentials(rest):
    resp = requests.post(
        rest.rest_url + "/v1/posts",
        json=POST,
        headers={**key(rest), "Authorization": "Bearer x", "Idempotency-Key": "socialomega:a1:v1:rest"},
        timeout=5,
    )
    assert resp.status_code == 201 and resp.json()["id"].startswith("post_")
    received = requests.get(rest.rest_url + "/_sandbox/received", timeout=5).json()["received"]
    assert len(received) == 1 and received[0]["json"] == POST
    headers = {k.lower() for k in received[0]["headers"]}
    assert "x-api-key" not in headers and "authorization" not in headers and "idempotency-key" in headers
    post = rest.rest_posts()[0]
    assert (post["asset_id"], post["version"], post["target"]) == ("a1", "v1", "rest")


@pytest.mark.parametrize(
    "headers,status",
    [
        ({}, 401),
        ({"X-Api-Key": "wrong"}, 401),
        ({"X-Api-Key": "sandbox-rest-readonly-key"}, 403),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "Basic " + "c2FuZGJveC11c2VyOndyb25n"}, 401),  # sandbox-user:wrong
    ],
)
def test_auth_failures(rest, headers, status):
    resp = requests.post(rest.rest_url + "/v1/posts", json=POST, headers=headers, timeout=5)
    assert resp.status_code == status
    assert resp.json()["error"] in ("unauthorized", "invalid_token", "forbidden")
    if status == 401:
        assert "WWW-Authenticate" in resp.headers
    assert requests.get(rest.rest_url + "/_sandbox/received", timeout=5).json()["received"] == []


def test_basic_and_static_bearer(rest):
    creds = rest.credentials
    ok = requests.post(
        rest.rest_url + "/v1/posts",
        json=POST,
        auth=(creds["rest_basic_username"], creds["rest_basic_password"]),
        timeout=5,
    )
    assert ok.status_code == 201
    ok = requests.post(
        rest.rest_url + "/v1/posts",
        json=POST,
        headers={"Authorization": f"Bearer {creds['rest_bearer_token']}"},
        timeout=5,
    )
    assert ok.status_code == 201
    assert [r["auth_mode"] for r in rest.rest_posts()] == ["basic", "bearer"]


def test_oauth2_client_credentials_scopes_and_expiry(rest):
    creds = rest.credentials
    token_url = creds["oauth_token_url"]
    bad = requests.post(token_url, data={"grant_type": "client_credentials"}, auth=("x", "y"), timeout=5)
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert (
        requests.post(
            token_url,
            data={"grant_type": "password"},
            auth=(creds["oauth_client_id"], creds["oauth_client_secret"]),
            timeout=5,
        ).status_code
        == 400
    )
    tok = requests.post(
        token_url,
        data={"grant_type": "client_credentials"},
        auth=(creds["oauth_client_id"], creds["oauth_client_secret"]),
        timeout=5,
    )
    assert tok.status_code == 200 and tok.headers["Cache-Control"] == "no-store"
    token = tok.json()["access_token"]
    assert tok.json()["token_type"] == "Bearer" and tok.json()["expires_in"] > 0
    assert (
        requests.post(
            rest.rest_url + "/v1/posts", json=POST, headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).status_code
        == 201
    )
    # form-field client authentication and a narrower scope
    read_only = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "scope": "posts:read",
            "client_id": creds["oauth_client_id"],
            "client_secret": creds["oauth_client_secret"],
        },
        timeout=5,
    ).json()
    denied = requests.post(
        rest.rest_url + "/v1/posts",
        json=POST,
        headers={"Authorization": f"Bearer {read_only['access_token']}"},
        timeout=5,
    )
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
    requests.post(rest.rest_url + "/_sandbox/expire-tokens", timeout=5).raise_for_status()
    expired = requests.post(
        rest.rest_url + "/v1/posts", json=POST, headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


def test_auth_modes_are_configurable(rest):
    requests.post(rest.rest_url + "/_sandbox/auth", json={"modes": ["oauth2"]}, timeout=5).raise_for_status()
    assert requests.post(rest.rest_url + "/v1/posts", json=POST, headers=key(rest), timeout=5).status_code == 401


def test_post_validation(rest):
    h = key(rest)
    missing = requests.post(rest.rest_url + "/v1/posts", json={"image_url": "https://x/y.jpg"}, headers=h, timeout=5)
    assert missing.status_code == 400 and "title" in missing.json()["details"]
    no_image = requests.post(rest.rest_url + "/v1/posts", json={"title": "t"}, headers=h, timeout=5)
    assert no_image.status_code == 400 and "image_url" in no_image.json()["details"]
    not_json = requests.post(
        rest.rest_url + "/v1/posts", data="{nope", headers={**h, "Content-Type": "application/json"}, timeout=5
    )
    assert not_json.status_code == 400 and not_json.json()["error"] == "invalid_json"
    form = requests.post(rest.rest_url + "/v1/posts", data={"title": "t"}, headers=h, timeout=5)
    assert form.status_code == 415
    unknown_media = requests.post(
        rest.rest_url + "/v1/posts", json={"title": "t", "media_id": "media_999"}, headers=h, timeout=5
    )
    assert unknown_media.status_code == 400


def test_media_upload_then_post_referencing_it(rest):
    h = key(rest)
    resp = requests.post(
        rest.rest_url + "/v1/media",
        headers=h,
        data={"title": "Pic"},
        files={"image": ("a.jpg", jpeg(), "image/jpeg")},
        timeout=5,
    )
    assert resp.status_code == 201
    media = resp.json()
    assert (media["width"], media["height"]) == (64, 48) and media["content_type"] == "image/jpeg"
    post = requests.post(
        rest.rest_url + "/v1/posts", json={"title": "t", "media_id": media["id"]}, headers=h, timeout=5
    )
    assert post.status_code == 201
    received = rest.rest_posts()
    assert (
        received[0]["kind"] == "media" and received[0]["form"] == {"title": "Pic"} and received[0]["field"] == "image"
    )
    no_file = requests.post(
        rest.rest_url + "/v1/media",
        headers=h,
        data={"title": "x"},
        files={"note": ("n.txt", b"", "text/plain")},
        timeout=5,
    )
    assert no_file.status_code == 400
    garbage = requests.post(
        rest.rest_url + "/v1/media", headers=h, files={"image": ("b.jpg", jpeg()[:200], "image/jpeg")}, timeout=5
    )
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_image"


def test_idempotency_key_replays_the_original(rest):
    h = {**key(rest), "Idempotency-Key": "socialomega:a:v:rest"}
    first = requests.post(rest.rest_url + "/v1/posts", json=POST, headers=h, timeout=5)
    again = requests.post(
        rest.rest_url + "/v1/posts", json={**POST, "image_url": "https://other/url.jpg"}, headers=h, timeout=5
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert len(rest.rest_posts()) == 1


def test_faults_500_429_and_delay(rest):
    h = key(rest)
    rest.fail_rest_next(1, status=500)
    rest.fail_rest_next(1, status=429, retry_after=3)
    assert requests.post(rest.rest_url + "/v1/posts", json=POST, headers=h, timeout=5).status_code == 500
    limited = requests.post(rest.rest_url + "/v1/posts", json=POST, headers=h, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    requests.post(
        rest.rest_url + "/_sandbox/faults", json={"kind": "delay", "delay": 0.4}, timeout=5
    ).raise_for_status()
    with pytest.raises(requests.Timeout):
        requests.post(rest.rest_url + "/v1/posts", json=POST, headers=h, timeout=0.2)
    # the delayed request was still processed: the ambiguous outcome a publisher must reconcile
    deadline = time.monotonic() + 3
    while not rest.rest_posts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rest.rest_posts()) == 1
    statuses = [r["status"] for r in requests.get(rest.rest_url + "/_sandbox/requests", timeout=5).json()["requests"]]
    assert statuses[:2] == [500, 429]
