"""The fake Lightroom API is strict where the real one is: auth, prefix, shapes, errors."""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import pytest
import requests
from PIL import Image, ImageOps

from socialomega.sandbox import photos
from socialomega.sandbox.lightroom import JSON_PREFIX

KEY = {"X-API-Key": "sandbox-client-id"}
AUTH = {**KEY, "Authorization": "Bearer sandbox-access-token"}


SANDBOX_SEED = 3


def url(sandbox, path: str) -> str:
    return sandbox.lightroom_url + path


def body(resp: requests.Response):
    assert resp.text.startswith(JSON_PREFIX), resp.text[:40]
    return json.loads(resp.text[len(JSON_PREFIX) :])


def cat(lr, path: str = "") -> str:
    return f"/v2/catalogs/{lr.catalog_id}/{path}"


# --- auth ---------------------------------------------------------------------------------------
def test_missing_api_key_is_403_with_prefixed_body(sandbox, lr):
    resp = requests.get(url(sandbox, "/v2/health"), timeout=5)
    assert resp.status_code == 403
    assert resp.headers["Content-Type"].startswith("application/json")
    assert body(resp) == {"code": "403003", "description": "Api Key is invalid"}
    assert (
        requests.get(
            url(sandbox, "/v2/catalog"),
            headers={"X-API-Key": "nope", **{"Authorization": AUTH["Authorization"]}},
            timeout=5,
        ).status_code
        == 403
    )


def test_health_needs_only_the_api_key(sandbox, lr):
    resp = requests.get(url(sandbox, "/v2/health"), headers=KEY, timeout=5)
    assert resp.status_code == 200 and "version" in body(resp)


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic c2FuZGJveA==", "sandbox-access-token"])
def test_missing_or_invalid_token_is_401(sandbox, lr, auth):
    headers = dict(KEY)
    if auth:
        headers["Authorization"] = auth
    resp = requests.get(url(sandbox, "/v2/catalog"), headers=headers, timeout=5)
    assert resp.status_code == 401
    assert body(resp) == {"code": "4002", "description": "Oauth token is not valid"}


def test_expired_token_via_control_api(sandbox, lr):
    requests.post(url(sandbox, "/_sandbox/token"), json={"expired": True}, timeout=5).raise_for_status()
    assert requests.get(url(sandbox, "/v2/account"), headers=AUTH, timeout=5).status_code == 401
    requests.post(url(sandbox, "/_sandbox/token"), json={"expired": False}, timeout=5).raise_for_status()
    account = body(requests.get(url(sandbox, "/v2/account"), headers=AUTH, timeout=5))
    assert account["type"] == "account" and account["entitlement"]["status"] == "subscriber"


# --- shapes -------------------------------------------------------------------------------------
def test_asset_list_shape_relative_links_and_limit_ties(sandbox, lr):
    # photos 3 and 4 share a capture date: with limit=4 the first page must hold 5 assets
    page = body(requests.get(url(sandbox, cat(lr, "assets")), params={"limit": 4}, headers=AUTH, timeout=5))
    assert page["base"] == sandbox.lightroom_url + cat(lr)
    assert len(page["resources"]) == 5
    assert page["resources"][3]["payload"]["captureDate"] == page["resources"][4]["payload"]["captureDate"]
    href = page["links"]["next"]["href"]
    assert href.startswith("assets?") and "captured_before=" in href and "limit=4" in href
    seen = [r["id"] for r in page["resources"]]
    while "next" in page["links"]:
        nxt = urljoin(page["base"], page["links"]["next"]["href"])
        page = body(requests.get(nxt, headers=AUTH, timeout=5))
        assert len(page["resources"]) <= 5
        seen += [r["id"] for r in page["resources"]]
    assert sorted(seen) == sorted(lr.assets) and len(seen) == len(set(seen))


def test_asset_document_fields(sandbox, lr):
    gps_asset = next(a for a in lr.assets.values() if a.photo.gps and a.photo.make)
    doc = body(requests.get(url(sandbox, cat(lr, f"assets/{gps_asset.id}")), headers=AUTH, timeout=5))
    assert doc["base"].endswith(cat(lr)) and doc["type"] == "asset" and doc["subtype"] == "image"
    assert len(doc["id"]) == 32 and doc["created"].endswith("Z") and doc["updated"].endswith("Z")
    p = doc["payload"]
    src = p["importSource"]
    assert {"fileName", "fileSize", "originalWidth", "originalHeight", "sha256", "contentType"} <= set(src)
    assert src["sha256"] == gps_asset.photo.sha256
    assert p["develop"]["croppedWidth"] == gps_asset.photo.width
    xmp = p["xmp"]
    assert all(v is True for v in xmp["dc"]["subject"].values())
    assert xmp["tiff"]["Make"] == gps_asset.photo.make
    assert isinstance(xmp["exif"]["FNumber"], list) and len(xmp["exif"]["ExposureTime"]) == 2
    assert xmp["aux"]["Lens"] == gps_asset.photo.lens
    assert set(p["location"]) >= {"latitude", "longitude", "city"}
    assert doc["links"]["/rels/rendition_type/2048"]["href"] == f"assets/{gps_asset.id}/renditions/2048"


def test_albums_and_album_assets(sandbox, lr):
    albums = body(requests.get(url(sandbox, cat(lr, "albums")), params={"limit": 1}, headers=AUTH, timeout=5))
    assert len(albums["resources"]) == 1 and albums["links"]["next"]["href"].startswith("albums?")
    by_subtype = body(
        requests.get(url(sandbox, cat(lr, "albums")), params={"subtype": "project"}, headers=AUTH, timeout=5)
    )
    assert [a["subtype"] for a in by_subtype["resources"]] == ["project"]
    publish = lr.album_by_name("Publish")
    plain = body(requests.get(url(sandbox, cat(lr, f"albums/{publish.id}/assets")), headers=AUTH, timeout=5))
    assert plain["album"]["id"] == publish.id
    item = plain["resources"][0]
    assert item["type"] == "album_asset" and set(item["asset"]) == {"id", "links"}
    embedded = body(
        requests.get(
            url(sandbox, cat(lr, f"albums/{publish.id}/assets")),
            params={"embed": "asset", "order_after": "-", "limit": 2},
            headers=AUTH,
            timeout=5,
        )
    )
    assert embedded["resources"][0]["asset"]["payload"]["importSource"]
    assert "order_after=" in embedded["links"]["next"]["href"] and "embed=asset" in embedded["links"]["next"]["href"]


# --- errors -------------------------------------------------------------------------------------
def test_bad_rendition_type_unknown_asset_bad_guid_and_wrong_catalog(sandbox, lr):
    aid = next(iter(lr.assets))
    bad = requests.get(url(sandbox, cat(lr, f"assets/{aid}/renditions/4096")), headers=AUTH, timeout=5)
    assert bad.status_code == 400
    assert body(bad) == {
        "errors": {"rendition_type": ["not supported"]},
        "code": 1005,
        "description": "Input Validation Error",
    }
    missing = requests.get(url(sandbox, cat(lr, f"assets/{'a' * 32}")), headers=AUTH, timeout=5)
    assert missing.status_code == 404 and body(missing)["errors"] == {"asset": ["does not exist"]}
    assert requests.get(url(sandbox, cat(lr, "assets/xyz")), headers=AUTH, timeout=5).status_code == 400
    wrong = requests.get(url(sandbox, f"/v2/catalogs/{'b' * 32}/assets"), headers=AUTH, timeout=5)
    assert wrong.status_code == 404
    assert body(wrong) == {"errors": {"catalog": ["does not exist"]}, "code": 1000, "description": "Resource not found"}
    too_many = requests.get(url(sandbox, cat(lr, "assets")), params={"limit": 501}, headers=AUTH, timeout=5)
    assert too_many.status_code == 400 and body(too_many)["code"] == 1005
    bad_date = requests.get(
        url(sandbox, cat(lr, "assets")), params={"updated_since": "yesterday"}, headers=AUTH, timeout=5
    )
    assert body(bad_date)["errors"] == {"updated_since": ["must be a valid XML Schema dateTime"]}


def test_faults_429_empty_body_and_503_prefixed(sandbox, lr):
    requests.post(
        url(sandbox, "/_sandbox/faults"), json={"status": 429, "retry_after": 7}, timeout=5
    ).raise_for_status()
    requests.post(url(sandbox, "/_sandbox/faults"), json={"status": 503}, timeout=5).raise_for_status()
    first = requests.get(url(sandbox, "/v2/catalog"), headers=AUTH, timeout=5)
    assert first.status_code == 429 and first.content == b"" and first.headers["Retry-After"] == "7"
    second = requests.get(url(sandbox, "/v2/catalog"), headers=AUTH, timeout=5)
    assert second.status_code == 503
    assert body(second) == {"code": 9999, "description": "Service is temporarily unavailable"}
    assert requests.get(url(sandbox, "/v2/catalog"), headers=AUTH, timeout=5).status_code == 200


# --- renditions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rtype,edge", [("thumbnail2x", 320), ("640", 640), ("1280", 1280)])
def test_fixed_renditions_are_long_edge_jpegs(sandbox, lr, rtype, edge):
    asset = next(a for a in lr.assets.values() if a.photo.width >= 3000)
    resp = requests.get(url(sandbox, cat(lr, f"assets/{asset.id}/renditions/{rtype}")), headers=AUTH, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(resp.content)).size) == edge


def test_small_masters_are_not_upscaled_and_keep_exif(sandbox, lr):
    small = next(a for a in lr.assets.values() if (a.photo.width, a.photo.height) == (1200, 800))
    resp = requests.get(url(sandbox, cat(lr, f"assets/{small.id}/renditions/2048")), headers=AUTH, timeout=5)
    img = Image.open(io.BytesIO(resp.content))
    assert img.size == (1200, 800)
    gps_one = next(a for a in lr.assets.values() if a.photo.gps)
    img = Image.open(
        io.BytesIO(
            requests.get(
                url(sandbox, cat(lr, f"assets/{gps_one.id}/renditions/2048")), headers=AUTH, timeout=10
            ).content
        )
    )
    assert img.getexif().get_ifd(0x8825)[1] in ("N", "S")


def test_on_demand_renditions_lifecycle(sandbox, lr):
    asset = list(lr.assets.values())[2]
    path = cat(lr, f"assets/{asset.id}/renditions")
    assert requests.head(url(sandbox, path + "/fullsize"), headers=AUTH, timeout=5).status_code == 404
    got = requests.get(url(sandbox, path + "/fullsize"), headers=AUTH, timeout=5)
    assert body(got) == {"errors": {"rendition": ["does not exist"]}, "code": 1000, "description": "Resource not found"}
    assert requests.post(url(sandbox, path), headers=AUTH, timeout=5).status_code == 400  # no X-Generate-Renditions
    assert (
        requests.post(url(sandbox, path), headers={**AUTH, "X-Generate-Renditions": "2048"}, timeout=5).status_code
        == 400
    )
    gen = requests.post(url(sandbox, path), headers={**AUTH, "X-Generate-Renditions": "fullsize,2560"}, timeout=5)
    assert gen.status_code == 202
    links = body(gen)["links"]
    assert links["/rels/rendition_type/fullsize"]["href"] == f"assets/{asset.id}/renditions/fullsize"
    head = requests.head(url(sandbox, path + "/2560"), headers=AUTH, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"] == "image/jpeg" and head.content == b""
    full = Image.open(io.BytesIO(requests.get(url(sandbox, path + "/fullsize"), headers=AUTH, timeout=10).content))
    assert full.size == (asset.photo.stored_width, asset.photo.stored_height)
    # an edit makes generated renditions invalid (404) and the new version's pixels differ
    before = requests.get(url(sandbox, path + "/640"), headers=AUTH, timeout=5).content
    edited = requests.post(url(sandbox, f"/_sandbox/assets/{asset.id}/edit"), json={"title": "New"}, timeout=5).json()
    assert edited["updated"] > asset.created.isoformat()
    assert requests.head(url(sandbox, path + "/fullsize"), headers=AUTH, timeout=5).status_code == 404
    doc = body(requests.get(url(sandbox, cat(lr, f"assets/{asset.id}")), headers=AUTH, timeout=5))
    assert doc["updated"] == edited["updated"] and doc["payload"]["xmp"]["dc"]["title"] == "New"
    assert doc["links"]["/rels/rendition_type/fullsize"]["invalid"] == "true"
    assert requests.get(url(sandbox, path + "/640"), headers=AUTH, timeout=5).content != before


def test_generation_delay_is_observable_with_head(sandbox, lr):
    requests.post(
        url(sandbox, "/_sandbox/config"), json={"rendition_generation_delay": 0.3}, timeout=5
    ).raise_for_status()
    asset = list(lr.assets.values())[0]
    path = cat(lr, f"assets/{asset.id}/renditions")
    requests.post(url(sandbox, path), headers={**AUTH, "X-Generate-Renditions": "2560"}, timeout=5)
    assert requests.head(url(sandbox, path + "/2560"), headers=AUTH, timeout=5).status_code == 404
    time.sleep(0.35)
    assert requests.head(url(sandbox, path + "/2560"), headers=AUTH, timeout=5).status_code == 200


# --- seeding ------------------------------------------------------------------------------------
def test_photos_are_deterministic_and_varied():
    # (how fast they generate is not a test's business: the machines are shared and noisy)
    # The sets are made concurrently: faster on two cores, and no state may leak between them.
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(photos.generate_photos, 9),
            pool.submit(photos.generate_photos, 9),
            pool.submit(photos.generate_photos, 10, count=3),
        ]
        first, again, other = (run.result() for run in runs)
        uprights = list(pool.map(lambda p: ImageOps.exif_transpose(Image.open(io.BytesIO(p.master))), first))
    assert [p.sha256 for p in first] == [p.sha256 for p in again]
    assert [p.asset_id for p in first] != [p.asset_id for p in other][: len(first)]
    assert {1, 3, 6, 8} <= {p.orientation for p in first}
    ratios = {round(p.width / p.height, 2) for p in first}
    assert {1.5, 0.67, 1.0, 1.78, 0.56, 4.0} <= ratios
    assert max(p.width * p.height for p in first) == 6000 * 4000
    assert any(p.gps for p in first) and any(not p.gps for p in first)
    assert any(photos.PUBLISH_KEYWORD in p.keywords for p in first)
    for p, upright in zip(first, uprights, strict=True):  # the displayed image: red marker top-left
        assert upright.size == (p.width, p.height)
        r, g, b = upright.convert("RGB").getpixel((3, 3))
        assert r > 150 and g < 100 and b < 100


def test_corrupt_asset_is_switchable_and_undecodable(sandbox, lr):
    resp = requests.post(url(sandbox, "/_sandbox/corrupt"), timeout=10)
    assert resp.status_code == 201
    aid = resp.json()["asset_id"]
    assert aid in lr.album_by_name("Publish").asset_ids
    data = requests.get(url(sandbox, cat(lr, f"assets/{aid}/renditions/2048")), headers=AUTH, timeout=5).content
    with pytest.raises(OSError):
        Image.open(io.BytesIO(data)).load()
    state = requests.get(url(sandbox, "/_sandbox/state"), timeout=5).json()
    assert any(a["id"] == aid and a["corrupt"] for a in state["assets"])


def test_reset_reseeds(sandbox, lr):
    before = set(lr.assets)
    state = requests.post(
        url(sandbox, "/_sandbox/reset"), json={"seed": 3, "count": 4, "include_corrupt": True}, timeout=10
    ).json()
    assert len(state["assets"]) == 5 and sum(a["corrupt"] for a in state["assets"]) == 1
    requests.post(url(sandbox, "/_sandbox/reset"), json={"seed": 3}, timeout=10).raise_for_status()
    assert set(sandbox.lightroom.state.assets) <= before | set(sandbox.lightroom.state.assets)
    assert len(sandbox.lightroom.state.assets) == 12


# --- answers broken in transit, renditions that stay missing ------------------------------------
def fault(sandbox, **spec) -> requests.Response:
    return requests.post(url(sandbox, "/_sandbox/faults"), json=spec, timeout=5)


def test_a_cut_body_announces_its_whole_length_and_sends_half(sandbox, lr):
    asset = list(lr.assets.values())[4]
    path = url(sandbox, cat(lr, f"assets/{asset.id}/renditions/640"))
    whole = requests.get(path, headers=AUTH, timeout=10).content
    fault(sandbox, kind="cut_body", path_contains="/renditions/640").raise_for_status()
    assert requests.head(path, headers=AUTH, timeout=5).status_code == 200  # a HEAD has no body to cut
    resp = requests.get(path, headers=AUTH, timeout=10, stream=True)
    assert resp.status_code == 200 and resp.headers["Content-Length"] == str(len(whole))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        b"".join(resp.iter_content(4096))
    assert requests.get(path, headers=AUTH, timeout=10).content == whole  # one answer only
    assert [r["fault"] for r in lr.requests if r["method"] == "GET"][-2:] == ["cut_body", None]


def test_a_cut_chunked_body_drops_the_connection_mid_stream(sandbox, lr):
    asset = list(lr.assets.values())[4]
    path = url(sandbox, cat(lr, f"assets/{asset.id}/renditions/640"))
    fault(sandbox, kind="cut_chunked").raise_for_status()
    resp = requests.get(path, headers=AUTH, timeout=10, stream=True)
    assert resp.status_code == 200 and resp.headers.get("Transfer-Encoding") == "chunked"
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        b"".join(resp.iter_content(4096))


def test_invalid_json_is_a_complete_200_whose_json_stops_halfway(sandbox, lr):
    fault(sandbox, kind="invalid_json", path_contains="/v2/catalog").raise_for_status()
    resp = requests.get(url(sandbox, "/v2/catalog"), headers=AUTH, timeout=5)
    assert resp.status_code == 200 and resp.text.startswith(JSON_PREFIX)
    assert len(resp.content) == int(resp.headers["Content-Length"])
    with pytest.raises(ValueError):
        json.loads(resp.text[len(JSON_PREFIX) :])
    assert body(requests.get(url(sandbox, "/v2/catalog"), headers=AUTH, timeout=5))["id"] == lr.catalog_id
    assert fault(sandbox, kind="truncated").status_code == 400


def test_renditions_that_stay_missing_until_the_photo_is_edited(sandbox, lr):
    asset = list(lr.assets.values())[5]
    path = cat(lr, f"assets/{asset.id}/renditions")
    control = url(sandbox, f"/_sandbox/assets/{asset.id}/renditions")
    assert requests.post(control, json={"missing": True}, timeout=5).json()["renditions_missing"] is True
    for _ in range(3):  # it stays so
        got = requests.get(url(sandbox, path + "/2048"), headers=AUTH, timeout=5)
        assert got.status_code == 404 and body(got)["errors"] == {"rendition": ["does not exist"]}
        assert requests.head(url(sandbox, path + "/thumbnail2x"), headers=AUTH, timeout=5).status_code == 404
    gen = requests.post(url(sandbox, path), headers={**AUTH, "X-Generate-Renditions": "fullsize"}, timeout=5)
    assert gen.status_code == 202  # accepted, and never completes
    assert requests.head(url(sandbox, path + "/fullsize"), headers=AUTH, timeout=5).status_code == 404
    state = requests.get(url(sandbox, "/_sandbox/state"), timeout=5).json()
    assert next(a for a in state["assets"] if a["id"] == asset.id)["renditions_missing"] is True
    requests.post(url(sandbox, f"/_sandbox/assets/{asset.id}/edit"), json={"title": "Again"}, timeout=5)
    assert requests.get(url(sandbox, path + "/2048"), headers=AUTH, timeout=10).status_code == 200
    requests.post(control, json={"missing": True}, timeout=5)
    requests.post(control, json={"missing": False}, timeout=5)
    assert requests.get(url(sandbox, path + "/2048"), headers=AUTH, timeout=10).status_code == 200
    assert requests.post(url(sandbox, "/_sandbox/assets/nope/renditions"), json={}, timeout=5).status_code == 404


def test_asking_again_for_a_rendition_being_generated_does_not_start_over(sandbox, lr):
    asset = list(lr.assets.values())[6]
    path = cat(lr, f"assets/{asset.id}/renditions")
    lr.rendition_generation_delay = 10_000
    try:
        requests.post(url(sandbox, path), headers={**AUTH, "X-Generate-Renditions": "2560"}, timeout=5)
        first = asset.generated["2560"]
        requests.post(url(sandbox, path), headers={**AUTH, "X-Generate-Renditions": "2560"}, timeout=5)
        assert asset.generated["2560"] == first
    finally:
        asset.generated.clear()
