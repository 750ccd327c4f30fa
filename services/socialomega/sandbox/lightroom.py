"""A faithful fake of the Adobe Lightroom (cloud) API, as a werkzeug WSGI app.

Facts it reproduces (sources in /work/shared/reference/platform-apis.md section 1 and the
OpenAPI description `lightroom-swagger.json`):

- every call needs `X-API-Key` (else 403 `{"code":"403003","description":"Api Key is invalid"}`)
  and `Authorization: Bearer <token>` (else 401 `{"code":"4002","description":"Oauth token is
  not valid"}`), except `GET /v2/health` (API key only). The 401 body for a *missing* token is
  not documented; the fake answers the same 4002 body as for an invalid/expired one;
- every `application/json` body starts with `while (1) {}\\n`, error bodies included;
- lists are `{base, resources, links:{prev?, next?}}` where `links.*.href` is RELATIVE to
  `base` (RFC 3986 section 5.2). Asset lists are ordered newest capture date first and paged
  with `captured_before=<captureDate of the last asset>`; a page may hold more than `limit`
  assets when the boundary assets share a capture date (documented Lightroom behaviour);
- `thumbnail2x` (320), `640`, `1280`, `2048` renditions exist for every asset (long edge,
  never upscaled); `fullsize` and `2560` only after `POST .../renditions` with
  `X-Generate-Renditions` (202), become "invalid" (404) after an edit, and may take a while to
  appear (configurable, polled with HEAD). Asking again for a rendition already asked for at
  this version does not start its generation over (UNCONFIRMED: Adobe documents only "if it
  has not appeared in 10 minutes, generate again");
- error bodies use `code`/`description` (the shape of the spec and of real captures):
  400 code 1005 "Input Validation Error", 404 code 1000 "Resource not found" with
  `errors:{<resource>:["does not exist"]}` (e.g. `catalog` for a changed catalog id),
  429 with an EMPTY body, 503 `{"code":9999,"description":"Service is temporarily unavailable"}`.

Rendition bytes: real Lightroom JPEG renditions are rendered upright. The fake deliberately
serves the master's pixels in their *stored* orientation and copies the master's EXIF into the
rendition, including the Orientation tag, the GPS IFD and any ICC profile. That is the worst
case a consumer can get from any intake (an S3 inbox upload looks exactly like this), so our
processor's autorotation and GPS/EXIF stripping are exercised end to end.

A control API lives under `/_sandbox/` on the same server. It is NOT part of the real API and
needs no credentials; tests and the demo use it to reset/seed the catalog, inject faults,
expire the token and edit photos. See `_CONTROL_ROUTES` below for the list. Besides error
statuses and delays, faults break an answer the way networks and proxies do: a 200 whose body
is cut mid-stream (`cut_body`: shorter than its Content-Length; `cut_chunked`: a chunked body
whose connection drops), or a 200 whose JSON does not parse (`invalid_json`); and a photo's
renditions can be made to stay 404 (Lightroom could not render that version) until it is edited.

Adobe IMS (really `https://ims-na1.adobelogin.com`, a different host) is emulated for the one
call the poller makes: `POST /ims/token/v3`, form-encoded `grant_type=refresh_token`,
`client_id`, `client_secret`, `refresh_token`, answered with plain JSON (no prefix)
`{access_token, refresh_token, token_type: "bearer", expires_in}`. Refresh tokens are single
use (Adobe revokes a refresh token once used). Errors use the OAuth 2.0 shape
`{error, error_description}`: 400 `invalid_grant` (unknown, used or missing refresh token),
401 `invalid_client` (client id or secret), 400 `unsupported_grant_type`; the exact IMS
wording is UNCONFIRMED. Expiring the token (control API) invalidates every access token
issued so far; a refresh then issues a new one.

State is in memory and guarded by one lock; the app is safe under a threaded server.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from PIL import Image, ImageEnhance
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import faults
from socialomega.sandbox import photos as photo_gen

API_KEY = "sandbox-client-id"  # not a secret: the sandbox's fixed client id
ACCESS_TOKEN = "sandbox-access-token"  # not a secret: the sandbox's fixed user token
CLIENT_SECRET = "sandbox-client-secret"  # not a secret: the sandbox's fixed client secret
REFRESH_TOKEN = "sandbox-refresh-token"  # not a secret: the first refresh token (single use)
IMS_TOKEN_PATH = "/ims/token/v3"
IMS_EXPIRES_IN = 86399  # IMS user access tokens last 24 hours
JSON_PREFIX = "while (1) {}\n"

FIXED_RENDITIONS = {"thumbnail2x": 320, "640": 640, "1280": 1280, "2048": 2048}
ON_DEMAND_RENDITIONS = {"fullsize": None, "2560": 2560}
ALL_RENDITIONS = {**FIXED_RENDITIONS, **ON_DEMAND_RENDITIONS}
ASSET_SUBTYPES = {"image", "video", "preset", "profile", "camera_profile", "lens_profile"}
# The spec lists project/project_set; albums made in the Lightroom apps are reported by
# third-party clients as collection/collection_set (UNCONFIRMED, see platform-apis.md).
ALBUM_SUBTYPES = {"project", "project_set", "collection", "collection_set"}
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
UNDATED = "0000-00-00T00:00:00"

_IMPORT_TIME = datetime(2024, 7, 1, 8, 0, 0, 123456, tzinfo=UTC)
_LEX64 = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"


class LightroomApiError(Exception):
    """Raised inside handlers; becomes a prefixed JSON error response."""

    def __init__(self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _validation_error(param: str, message: str) -> LightroomApiError:
    return LightroomApiError(400, {"errors": {param: [message]}, "code": 1005, "description": "Input Validation Error"})


def _not_found(resource: str) -> LightroomApiError:
    return LightroomApiError(
        404, {"errors": {resource: ["does not exist"]}, "code": 1000, "description": "Resource not found"}
    )


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_ts(value: str) -> datetime:
    """Lightroom timestamps: `2020-08-30T09:20:10.824387Z` (updated) or `2019-08-27T15:50:17.839`
    (captureDate, no zone). Returns a naive UTC datetime. Undated values sort first."""
    if value.startswith(("-", "0000-")):
        return datetime.min
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _lex64(n: int, width: int = 4) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 64)
        out.append(_LEX64[r])
    return "".join(reversed(out))


@dataclass
class _Asset:
    photo: photo_gen.SeedPhoto
    created: datetime
    updated: datetime
    title: str
    description: str
    keywords: list[str]
    edits: int = 0
    # on-demand rendition type -> (updated at generation time, monotonic time it becomes ready)
    generated: dict[str, tuple[datetime, float]] = field(default_factory=dict)
    # Every rendition of the version with this `updated` answers 404 (control API), until an edit.
    renditions_missing_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.photo.asset_id


@dataclass
class _Album:
    id: str
    name: str
    subtype: str
    created: datetime
    updated: datetime
    asset_ids: list[str] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)
    next_order: int = 1


# Faults that break a 200's body instead of answering an error (see `_break_body`).
BODY_FAULTS = ("cut_body", "cut_chunked", "invalid_json")


@dataclass
class _Fault:
    status: int | None  # 429/500/502/503/504, or None for a pure delay or a body fault
    remaining: int
    retry_after: str | None = None
    delay: float = 0.0
    path_contains: str | None = None
    kind: str = "status"  # "status" (an error status and/or a delay) or one of BODY_FAULTS


class LightroomState:
    """The catalog, faults and request log. All access under `lock`."""

    def __init__(self, seed: int = 1, count: int | None = None, include_corrupt: bool = False) -> None:
        self.lock = threading.RLock()
        self.rendition_generation_delay = 0.0
        self.reset(seed=seed, count=count, include_corrupt=include_corrupt)

    def reset(self, seed: int = 1, count: int | None = None, include_corrupt: bool = False) -> None:
        generated = photo_gen.generate_photos(seed, count=count, include_corrupt=include_corrupt)
        with self.lock:
            self.seed = seed
            self.catalog_id = photo_gen.hex_id(seed, "catalog")
            self.account_id = photo_gen.hex_id(seed, "account")
            self.assets: dict[str, _Asset] = {}
            self.albums: dict[str, _Album] = {}
            self.faults: deque[_Fault] = deque()
            self.requests: list[dict[str, Any]] = []
            self.token_expired = False
            self.refreshed_tokens: set[str] = set()  # access tokens issued by a refresh
            self.refresh_token = REFRESH_TOKEN  # the one refresh token IMS accepts now
            self.token_refreshes = 0
            self.rendition_generation_delay = 0.0
            self._renditions: dict[tuple[str, str, str], bytes] = {}
            self._next_index = max((p.index for p in generated), default=-1) + 1
            publish = self._add_album(photo_gen.PUBLISH_ALBUM, "collection")
            archive = self._add_album(photo_gen.OTHER_ALBUM, "collection")
            self._add_album("SocialOmega", "project")
            for photo in generated:
                self._add_photo(photo)
                (publish if photo.in_album else archive).asset_ids.append(photo.asset_id)
            for album in self.albums.values():
                for aid in album.asset_ids:
                    album.orders[aid] = _lex64(album.next_order)
                    album.next_order += 1

    def _add_album(self, name: str, subtype: str) -> _Album:
        album = _Album(photo_gen.hex_id(self.seed, "album", name), name, subtype, _IMPORT_TIME, _IMPORT_TIME)
        self.albums[album.id] = album
        return album

    def _add_photo(self, photo: photo_gen.SeedPhoto) -> _Asset:
        created = _IMPORT_TIME + timedelta(seconds=photo.index)
        asset = _Asset(photo, created, created, photo.title, photo.description, list(photo.keywords))
        self.assets[asset.id] = asset
        return asset

    # --- mutations used by the control API -------------------------------------------------
    def add_photo(self, *, in_album: bool = True, corrupt: bool = False, title: str | None = None) -> _Asset:
        with self.lock:
            index = self._next_index
            self._next_index += 1
            seed = self.seed
        photo = photo_gen.make_corrupt_photo(seed, index) if corrupt else photo_gen.make_photo(seed, index)
        with self.lock:
            asset = self._add_photo(photo)
            asset.created = asset.updated = self._now_after(None)
            if title is not None:
                asset.title = title
            if in_album or corrupt:
                self.album_add(self.album_by_name(photo_gen.PUBLISH_ALBUM).id, [asset.id])
            return asset

    def edit(self, asset_id: str, changes: dict[str, Any]) -> _Asset:
        with self.lock:
            asset = self.assets[asset_id]
            if "title" in changes:
                asset.title = str(changes["title"])
            if "description" in changes:
                asset.description = str(changes["description"])
            if "keywords" in changes:
                asset.keywords = [str(k) for k in changes["keywords"]]
            if changes.get("develop", True):
                asset.edits += 1  # a develop edit: rendition pixels change
            asset.updated = self._now_after(asset.updated)
            return asset

    def album_by_name(self, name: str) -> _Album:
        for album in self.albums.values():
            if album.name == name or album.id == name:
                return album
        raise KeyError(name)

    def album_add(self, album_id: str, asset_ids: list[str]) -> None:
        album = self.albums[album_id]
        for aid in asset_ids:
            if aid in self.assets and aid not in album.asset_ids:
                album.asset_ids.append(aid)
                album.orders[aid] = _lex64(album.next_order)
                album.next_order += 1
        album.updated = self._now_after(album.updated)

    def album_remove(self, album_id: str, asset_ids: list[str]) -> None:
        album = self.albums[album_id]
        for aid in asset_ids:
            if aid in album.asset_ids:
                album.asset_ids.remove(aid)
                album.orders.pop(aid, None)
        album.updated = self._now_after(album.updated)

    @staticmethod
    def _now_after(previous: datetime | None) -> datetime:
        now = datetime.now(UTC)
        if previous is not None and now <= previous:
            now = previous + timedelta(microseconds=1)
        return now

    def take_fault(self, path: str, method: str = "GET") -> _Fault | None:
        """The next fault for this call (faults.take_fault's rule), except that a body fault
        waits for a GET: a HEAD has no body to break."""
        with self.lock:
            if method == "GET":
                return faults.take_fault(self.faults, path)
            for fault in list(self.faults):
                if fault.kind in BODY_FAULTS or (fault.path_contains and fault.path_contains not in path):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
            return None

    def set_renditions_missing(self, asset_id: str, missing: bool = True) -> _Asset:
        """Every rendition of the photo's current version answers 404 (or again not)."""
        with self.lock:
            asset = self.assets[asset_id]
            asset.renditions_missing_at = asset.updated if missing else None
            return asset

    def expire_tokens(self, expired: bool = True) -> None:
        """Expire (or restore) the fixed user token; expiring also drops refreshed ones."""
        with self.lock:
            self.token_expired = expired
            if expired:
                self.refreshed_tokens.clear()

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seed": self.seed,
                "catalog_id": self.catalog_id,
                "account_id": self.account_id,
                "token_expired": self.token_expired,
                "token_refreshes": self.token_refreshes,
                "rendition_generation_delay": self.rendition_generation_delay,
                "albums": [
                    {"id": a.id, "name": a.name, "subtype": a.subtype, "asset_ids": list(a.asset_ids)}
                    for a in self.albums.values()
                ],
                "assets": [
                    {
                        "id": a.id,
                        "updated": _ts(a.updated),
                        "title": a.title,
                        "keywords": a.keywords,
                        "capture_date": a.photo.capture_date,
                        "file_name": a.photo.file_name,
                        "width": a.photo.width,
                        "height": a.photo.height,
                        "orientation": a.photo.orientation,
                        "gps": a.photo.gps is not None,
                        "corrupt": a.photo.corrupt,
                        "renditions_missing": a.renditions_missing_at == a.updated,
                    }
                    for a in self.assets.values()
                ],
                "faults": [f.__dict__ for f in self.faults],
            }

    # --- renditions ---------------------------------------------------------------------------
    def rendition_bytes(self, asset: _Asset, rtype: str) -> bytes:
        key = (asset.id, _ts(asset.updated), rtype)
        with self.lock:
            cached = self._renditions.get(key)
        if cached is not None:
            return cached
        data = _render(asset.photo, rtype, asset.edits)
        with self.lock:
            self._renditions[key] = data
        return data


def _render(photo: photo_gen.SeedPhoto, rtype: str, edits: int) -> bytes:
    if photo.corrupt:
        # A broken upload has no decodable pixels; serve its truncated bytes for every type
        # so the processor meets them exactly as a corrupt file.
        return photo.master
    long_edge = ALL_RENDITIONS[rtype]
    img: Image.Image = Image.open(io.BytesIO(photo.master))  # an ImageFile until converted below
    exif = img.info.get("exif")
    icc = img.info.get("icc_profile")
    w, h = img.size
    if long_edge is not None and max(w, h) > long_edge:
        scale = long_edge / max(w, h)
        target = (max(1, round(w * scale)), max(1, round(h * scale)))
        img.draft("RGB", target)  # DCT-domain downscale: fast decode of big masters
        img = img.convert("RGB")
        img.thumbnail(target, Image.Resampling.LANCZOS)
        if img.size != target:
            img = img.resize(target, Image.Resampling.LANCZOS)
    else:
        img = img.convert("RGB")
    if edits:
        img = ImageEnhance.Brightness(img).enhance(1.0 + 0.08 * min(edits, 5))
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"quality": 88}
    if exif:
        kwargs["exif"] = exif  # keeps Orientation + GPS on purpose (see module docstring)
    if icc:
        kwargs["icc_profile"] = icc
    img.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _break_body(response: Response, kind: str) -> Response:
    """A 200 answer broken in transit (a body fault); other answers are left as they are.

    * `cut_body`: the whole Content-Length is announced, half the body is sent, then the
      connection closes (the client reads fewer bytes than announced);
    * `cut_chunked`: the body goes out chunked and the connection drops after half of it
      (no terminating chunk), as when a proxy or the server dies mid-stream;
    * `invalid_json`: a JSON answer whose text stops halfway (prefix kept, complete transfer).
    """
    if response.status_code != 200:
        return response
    data = response.get_data()
    half = data[: len(data) // 2]
    if kind == "invalid_json":
        if response.mimetype != "application/json":
            return response
        text = data.decode()
        payload = text[len(JSON_PREFIX) :] if text.startswith(JSON_PREFIX) else text
        return Response(
            JSON_PREFIX + payload[: len(payload) // 2], status=200, content_type="application/json;charset=utf-8"
        )
    if kind == "cut_body":
        headers = {"Content-Type": response.content_type or "", "Content-Length": str(len(data))}
        return Response(iter([half]), status=200, headers=headers, direct_passthrough=True)

    def dropped() -> Iterator[bytes]:
        yield half
        # werkzeug's server treats a ConnectionError as the client gone: the socket just closes.
        raise ConnectionAbortedError("sandbox fault: connection dropped mid-body")

    return Response(dropped(), status=200, content_type=response.content_type, direct_passthrough=True)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        JSON_PREFIX + json.dumps(body), status=status, headers=headers, content_type="application/json;charset=utf-8"
    )


def _plain_json(body: Any, status: int = 200) -> Response:
    """Control API responses: ordinary JSON, no prefix (not part of the emulated API)."""
    return Response(json.dumps(body), status=status, content_type="application/json")


_API_ROUTES = Map(
    [
        Rule("/v2/health", endpoint="health", methods=["GET"]),
        Rule("/v2/account", endpoint="account", methods=["GET"]),
        Rule("/v2/catalog", endpoint="catalog", methods=["GET"]),
        Rule("/v2/catalogs/<cid>", endpoint="catalog_by_id", methods=["GET"]),
        Rule("/v2/catalogs/<cid>/assets", endpoint="assets", methods=["GET"]),
        Rule("/v2/catalogs/<cid>/assets/<aid>", endpoint="asset", methods=["GET"]),
        Rule("/v2/catalogs/<cid>/assets/<aid>/renditions", endpoint="generate_renditions", methods=["POST"]),
        Rule("/v2/catalogs/<cid>/assets/<aid>/renditions/<rtype>", endpoint="rendition", methods=["GET", "HEAD"]),
        Rule("/v2/catalogs/<cid>/albums", endpoint="albums", methods=["GET"]),
        Rule("/v2/catalogs/<cid>/albums/<alid>", endpoint="album", methods=["GET"]),
        Rule("/v2/catalogs/<cid>/albums/<alid>/assets", endpoint="album_assets", methods=["GET"]),
    ],
    strict_slashes=False,
)

# Control API (sandbox only, no credentials):
#   GET    /_sandbox/state                      catalog summary: ids, albums, assets, faults
#   POST   /_sandbox/reset   {seed?, count?, include_corrupt?}  re-seed (clears faults, log, token)
#   POST   /_sandbox/corrupt                    add a corrupt (truncated JPEG) asset to "Publish"
#   POST   /_sandbox/assets  {in_album?=true, title?}           add one more generated photo
#   POST   /_sandbox/assets/<aid>/edit {title?, description?, keywords?, develop?=true}
#                                               edit a photo: bumps `updated` (a new version)
#   POST   /_sandbox/assets/<aid>/renditions {missing?=true}
#                                               every rendition of the photo's current version
#                                               answers 404 "does not exist" (HEAD too; a generation
#                                               request is accepted but never completes) until the
#                                               photo is edited, or {missing: false}
#   POST   /_sandbox/albums/<id-or-name>/assets {add?: [ids], remove?: [ids]}
#   POST   /_sandbox/faults  {status: 429|500|502|503|504|null, count?=1, retry_after?, delay?,
#                             path_contains?}   fail (or delay) the next N matching /v2 calls
#   POST   /_sandbox/faults  {kind: cut_body|cut_chunked|invalid_json, count?=1, delay?, path_contains?}
#                                               break the body of the next N matching 200 answers
#                                               to GETs (see `_break_body`); other answers pass
#   GET    /_sandbox/faults, DELETE /_sandbox/faults
#   POST   /_sandbox/token   {expired: bool}    expire every access token issued so far / restore
#                                               the fixed one (401 4002 until refreshed)
#   POST   /_sandbox/config  {rendition_generation_delay: seconds}
#   GET    /_sandbox/requests, DELETE /_sandbox/requests   log of /v2 and IMS calls (no headers, no form)
_CONTROL_ROUTES = Map(
    [
        Rule("/_sandbox/state", endpoint="state", methods=["GET"]),
        Rule("/_sandbox/reset", endpoint="reset", methods=["POST"]),
        Rule("/_sandbox/corrupt", endpoint="corrupt", methods=["POST"]),
        Rule("/_sandbox/assets", endpoint="add_asset", methods=["POST"]),
        Rule("/_sandbox/assets/<aid>/edit", endpoint="edit", methods=["POST"]),
        Rule("/_sandbox/assets/<aid>/renditions", endpoint="renditions_missing", methods=["POST"]),
        Rule("/_sandbox/albums/<alid>/assets", endpoint="album_membership", methods=["POST"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_sandbox/token", endpoint="token", methods=["POST"]),
        Rule("/_sandbox/config", endpoint="config", methods=["POST"]),
        Rule("/_sandbox/requests", endpoint="requests", methods=["GET", "DELETE"]),
    ]
)


class LightroomFake:
    """The WSGI app. `state` is reachable directly for in-process tests."""

    def __init__(
        self,
        seed: int = 1,
        count: int | None = None,
        include_corrupt: bool = False,
        api_key: str = API_KEY,
        access_token: str = ACCESS_TOKEN,
    ) -> None:
        self.state = LightroomState(seed=seed, count=count, include_corrupt=include_corrupt)
        self.api_key = api_key
        self.access_token = access_token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_sandbox/"):
            response = self._control(request)
        elif request.path == IMS_TOKEN_PATH:
            response = self._ims_token(request)
            self._log(request, response, query="")  # never the form: it holds secrets
        else:
            response = self._api(request)
        return response(environ, start_response)

    # --- the emulated API ---------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        fault_name = None
        fault = None
        try:
            fault = self.state.take_fault(request.path, request.method)
            if fault is not None:
                fault_name = fault.kind if fault.kind in BODY_FAULTS else str(fault.status or f"delay {fault.delay}s")
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.status is not None:
                    raise self._fault_error(fault)
            adapter = _API_ROUTES.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
            self._authenticate(request, token_required=endpoint != "health")
            api: Callable[..., Response] = getattr(self, "_ep_" + endpoint)  # each endpoint takes its own URL args
            response = api(request, **args)
        except LightroomApiError as exc:
            if exc.body is None:
                response = Response(b"", status=exc.status, headers=exc.headers)
            else:
                response = _json(exc.body, exc.status, exc.headers)
        except NotFound:
            response = _json(
                {"errors": {"path": ["does not exist"]}, "code": 1000, "description": "Resource not found"}, 404
            )
        except MethodNotAllowed as exc:
            response = _json(
                {"code": 1005, "description": "Method not allowed"}, 405, {"Allow": ", ".join(exc.valid_methods or [])}
            )
        self._log(request, response, query=request.query_string.decode(), fault=fault_name)
        if fault is not None and fault.kind in BODY_FAULTS:
            return _break_body(response, fault.kind)
        return response

    def _log(self, request: Request, response: Response, query: str, fault: str | None = None) -> None:
        """The request log of the control API (no headers)."""
        with self.state.lock:
            self.state.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": query,
                    "status": response.status_code,
                    "fault": fault,
                    "at": _ts(datetime.now(UTC)),
                }
            )

    @staticmethod
    def _fault_error(fault: _Fault) -> LightroomApiError:
        if fault.status == 429:
            # Adobe: "the response body will be empty". Retry-After on Lightroom 429s is
            # UNCONFIRMED (undocumented); the fake sends it so clients that honour it can be
            # tested, and a client must also cope without it.
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return LightroomApiError(429, None, headers)
        if fault.status == 503:
            return LightroomApiError(503, {"code": 9999, "description": "Service is temporarily unavailable"})
        # Body of Lightroom 500/502/504 is UNCONFIRMED; same code/description shape.
        descriptions = {500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout"}
        return LightroomApiError(
            fault.status or 500,
            {"code": str(fault.status), "description": descriptions.get(fault.status or 500, "Error")},
        )

    def _authenticate(self, request: Request, token_required: bool) -> None:
        if request.headers.get("X-API-Key") != self.api_key:
            raise LightroomApiError(403, {"code": "403003", "description": "Api Key is invalid"})
        if not token_required:
            return
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        with self.state.lock:
            valid = (
                token == self.access_token and not self.state.token_expired
            ) or token in self.state.refreshed_tokens
        if scheme.lower() != "bearer" or not valid:
            raise LightroomApiError(401, {"code": "4002", "description": "Oauth token is not valid"})

    def _catalog(self, cid: str) -> None:
        if not _is_guid(cid):
            raise _validation_error("catalog_id", "Must be a valid GUID")
        if cid != self.state.catalog_id:
            raise _not_found("catalog")

    def _get_asset(self, cid: str, aid: str) -> _Asset:
        self._catalog(cid)
        if not _is_guid(aid):
            raise _validation_error("asset_id", "Must be a valid GUID")
        asset = self.state.assets.get(aid)
        if asset is None:
            raise _not_found("asset")
        return asset

    def _base(self, request: Request, cid: str | None = None) -> str:
        root = request.host_url + "v2/"
        return root + f"catalogs/{cid}/" if cid else root

    def _ep_health(self, request: Request) -> Response:
        return _json({"version": "a3f5c0de2b7d4e6f"})

    def _ep_account(self, request: Request) -> Response:
        aid = self.state.account_id
        return _json(
            {
                "base": self._base(request),
                "id": aid,
                "type": "account",
                "created": _ts(_IMPORT_TIME - timedelta(days=900)),
                "updated": _ts(_IMPORT_TIME),
                "email": "sandbox@example.com",
                "full_name": "Sandbox Photographer",
                "first_name": "Sandbox",
                "last_name": "Photographer",
                "wcd_guid": aid,
                "country": "DE",
                "config": {},
                "entitlement": {
                    "status": "subscriber",
                    "trial": {},
                    "current_subs": {},
                    "storage": {
                        "used": 123456789,
                        "warn": 900000000000,
                        "limit": 1000000000000,
                        "display_limit": 1000000000000,
                    },
                    "deletion_date": None,
                },
                "links": {"self": {"href": f"accounts/{aid}"}},
            }
        )

    def _ep_catalog(self, request: Request) -> Response:
        cid = self.state.catalog_id
        return _json(self._catalog_doc(request, cid, self._base(request), f"catalogs/{cid}"))

    def _ep_catalog_by_id(self, request: Request, cid: str) -> Response:
        self._catalog(cid)
        return _json(self._catalog_doc(request, cid, self._base(request, cid), f"/v2/catalogs/{cid}"))

    def _catalog_doc(self, request: Request, cid: str, base: str, self_href: str) -> dict[str, Any]:
        prefix = "" if base.endswith(f"catalogs/{cid}/") else f"catalogs/{cid}/"
        return {
            "base": base,
            "id": cid,
            "type": "catalog",
            "subtype": "lightroom",
            "created": _ts(_IMPORT_TIME - timedelta(days=900)),
            "updated": _ts(_IMPORT_TIME),
            "payload": {
                "name": "Sandbox Catalog",
                "userCreated": _ts(_IMPORT_TIME - timedelta(days=900)),
                "userUpdated": _ts(_IMPORT_TIME),
                "assetSortOrder": "captureDateDesc",
            },
            "links": {
                "self": {"href": self_href},
                "/rels/albums": {"href": prefix + "albums"},
                "/rels/assets": {"href": prefix + "assets"},
            },
        }

    # --- assets -------------------------------------------------------------------------------
    def _asset_doc(self, asset: _Asset, *, with_base: str | None = None) -> dict[str, Any]:
        p = asset.photo
        links: dict[str, Any] = {
            "self": {"href": f"assets/{asset.id}"},
            "/rels/master_create": {"href": f"assets/{asset.id}/master"},
            "/rels/xmp_develop_create": {"href": f"assets/{asset.id}/xmp/develop"},
        }
        for rtype in FIXED_RENDITIONS:
            links[f"/rels/rendition_type/{rtype}"] = {"href": f"assets/{asset.id}/renditions/{rtype}"}
        for rtype, (version, _ready) in asset.generated.items():
            link = {"href": f"assets/{asset.id}/renditions/{rtype}"}
            if version != asset.updated:
                link["invalid"] = "true"
            links[f"/rels/rendition_type/{rtype}"] = link
        xmp: dict[str, Any] = {"dc": {"subject": {k: True for k in asset.keywords}}}
        if asset.title:
            xmp["dc"]["title"] = asset.title
        if asset.description:
            xmp["dc"]["description"] = asset.description
        if p.make:
            xmp["tiff"] = {"Make": p.make, "Model": p.model, "Orientation": p.orientation}
            xmp["exif"] = {
                "FNumber": list(p.f_number or (0, 1)),
                "ExposureTime": list(p.exposure_time or (0, 1)),
                "ISOSpeedRatings": p.iso,
                "DateTimeOriginal": p.capture_date,
            }
            xmp["aux"] = {"Lens": p.lens}
        payload: dict[str, Any] = {
            "captureDate": p.capture_date,
            "userCreated": _ts(asset.created),
            "userUpdated": _ts(asset.updated),
            "importSource": {
                "fileName": p.file_name,
                "fileSize": len(p.master),
                # original* = the master as stored (before EXIF orientation); develop.cropped*
                # = the upright size after orientation and crop.
                "originalWidth": p.stored_width,
                "originalHeight": p.stored_height,
                "sha256": p.sha256,
                "contentType": "image/jpeg",
                "importedOnDevice": "SocialOmega sandbox",
                "importedBy": self.state.account_id,
                "importTimestamp": _ts(asset.created),
            },
            "develop": {
                "croppedWidth": p.width,
                "croppedHeight": p.height,
                "processingModel": "2012",
                "crsVersion": "15.0",
                "userOrientation": 0,
            },
            "xmp": xmp,
        }
        if p.gps:
            lat, lon, city = p.gps
            payload["location"] = {"latitude": lat, "longitude": lon, "city": city}
        doc: dict[str, Any] = {
            "id": asset.id,
            "type": "asset",
            "subtype": "image",
            "created": _ts(asset.created),
            "updated": _ts(asset.updated),
            "links": links,
            "payload": payload,
        }
        if with_base:
            doc = {"base": with_base, **doc}
        return doc

    @staticmethod
    def _limit(request: Request) -> int:
        raw = request.args.get("limit")
        if raw is None:
            return DEFAULT_LIMIT
        try:
            limit = int(raw)
        except ValueError:
            raise _validation_error("limit", "must be an integer") from None
        if limit < 1 or limit > MAX_LIMIT:
            # Lightroom's exact answer to limit > 500 is UNCONFIRMED; strict here.
            raise _validation_error("limit", f"must be between 1 and {MAX_LIMIT}")
        return limit

    @staticmethod
    def _date_arg(request: Request, name: str) -> datetime | None:
        raw = request.args.get(name)
        if raw is None:
            return None
        try:
            return _parse_ts(raw)
        except ValueError:
            raise _validation_error(name, "must be a valid XML Schema dateTime") from None

    @staticmethod
    def _page_by_capture(
        items: list[_Asset], request: Request, limit: int
    ) -> tuple[list[_Asset], str | None, str | None]:
        """Newest capture first. Returns (page, captured_before for `next`, captured_after for
        `prev`). A page may exceed `limit`: assets sharing the boundary capture date stay together."""
        before = LightroomFake._date_arg(request, "captured_before")
        after = LightroomFake._date_arg(request, "captured_after")
        if before is not None and after is not None:
            raise _validation_error("captured_before", "may not be used in conjunction with captured_after")

        def cap(a: _Asset) -> datetime:
            return _parse_ts(a.photo.capture_date)

        ordered = sorted(items, key=lambda a: (cap(a), a.id), reverse=True)
        if after is not None:
            newer = [a for a in ordered if cap(a) > after]
            start = max(0, len(newer) - limit)
            while 0 < start < len(newer) and cap(newer[start - 1]) == cap(newer[start]):
                start -= 1
            page = newer[start:]
            has_older = bool(page) and any(cap(a) < cap(page[-1]) for a in ordered)
            next_before = page[-1].photo.capture_date if has_older else None
            prev_after = page[0].photo.capture_date if page and start > 0 else None
            return page, next_before, prev_after
        if before is not None:
            ordered = [a for a in ordered if cap(a) < before]
        end = min(limit, len(ordered))
        while 0 < end < len(ordered) and cap(ordered[end]) == cap(ordered[end - 1]):
            end += 1
        page = ordered[:end]
        next_before = page[-1].photo.capture_date if len(ordered) > len(page) else None
        prev_after = page[0].photo.capture_date if page and before is not None else None
        return page, next_before, prev_after

    @staticmethod
    def _href(path: str, params: dict[str, Any]) -> str:
        clean = {k: v for k, v in params.items() if v is not None}
        return f"{path}?{urlencode(clean)}" if clean else path

    def _ep_assets(self, request: Request, cid: str) -> Response:
        self._catalog(cid)
        base = self._base(request, cid)
        args = request.args
        if "asset_ids" in args:
            others = [k for k in args if k != "asset_ids"]
            if others:
                raise _validation_error(others[0], "not allowed with asset_ids parameter")
            ids = [i for i in args["asset_ids"].split(",") if i]
            if not 1 <= len(ids) <= 100:
                raise _validation_error("asset_ids", "must hold 1 to 100 asset ids")
            resources, errors = [], []
            with self.state.lock:
                for aid in ids:
                    asset = self.state.assets.get(aid)
                    if asset is None:
                        errors.append({"id": aid, "code": 1000, "description": "Resource not found"})
                    else:
                        resources.append(self._asset_doc(asset))
            body: dict[str, Any] = {
                "base": base,
                "resources": resources,
                "links": {"/rels/asset": {"href": "assets/{asset_id}", "templated": True}},
            }
            if errors:
                body["errors"] = errors
            return _json(body)
        limit = self._limit(request)
        subtypes = self._subtypes(request, ASSET_SUBTYPES)
        updated_since = self._date_arg(request, "updated_since")
        with self.state.lock:
            items = [
                a
                for a in self.state.assets.values()
                if "image" in subtypes and (updated_since is None or a.updated.replace(tzinfo=None) >= updated_since)
            ]
            page, next_before, prev_after = self._page_by_capture(items, request, limit)
            resources = [self._asset_doc(a) for a in page]
        common = {
            "updated_since": args.get("updated_since"),
            "subtype": args.get("subtype"),
            "limit": args.get("limit"),
        }
        links: dict[str, Any] = {}
        if prev_after:
            links["prev"] = {"href": self._href("assets", {"captured_after": prev_after, **common})}
        if next_before:
            links["next"] = {"href": self._href("assets", {"captured_before": next_before, **common})}
        links["/rels/asset"] = {"href": "assets/{asset_id}", "templated": True}
        return _json({"base": base, "resources": resources, "links": links})

    @staticmethod
    def _subtypes(request: Request, allowed: set[str]) -> set[str]:
        raw = request.args.get("subtype")
        if raw is None:
            return set(allowed)
        values = {v for v in raw.split(";") if v}
        if not values or not values <= allowed:
            raise _validation_error("subtype", "is invalid")
        return values

    def _ep_asset(self, request: Request, cid: str, aid: str) -> Response:
        with self.state.lock:
            asset = self._get_asset(cid, aid)
            return _json(self._asset_doc(asset, with_base=self._base(request, cid)))

    # --- renditions ---------------------------------------------------------------------------
    def _ep_rendition(self, request: Request, cid: str, aid: str, rtype: str) -> Response:
        with self.state.lock:
            asset = self._get_asset(cid, aid)
            if rtype not in ALL_RENDITIONS:
                raise _validation_error("rendition_type", "not supported")
            if asset.renditions_missing_at == asset.updated:
                raise _not_found("rendition")
            if rtype in ON_DEMAND_RENDITIONS:
                generated = asset.generated.get(rtype)
                if generated is None or generated[0] != asset.updated or time.monotonic() < generated[1]:
                    raise _not_found("rendition")
        data = self.state.rendition_bytes(asset, rtype)
        return Response(data, status=200, content_type="image/jpeg")

    def _ep_generate_renditions(self, request: Request, cid: str, aid: str) -> Response:
        raw = request.headers.get("X-Generate-Renditions")
        with self.state.lock:
            asset = self._get_asset(cid, aid)
            if not raw or not raw.strip():
                raise _validation_error("X-Generate-Renditions", "must be specified")
            types = [t.strip() for t in raw.split(",") if t.strip()]
            if not types or any(t not in ON_DEMAND_RENDITIONS for t in types):
                raise _validation_error("rendition_type", "not supported")
            ready_at = time.monotonic() + self.state.rendition_generation_delay
            for t in types:
                if asset.generated.get(t, (None, 0.0))[0] != asset.updated:  # already asked for: goes on
                    asset.generated[t] = (asset.updated, ready_at)
        links = {f"/rels/rendition_type/{t}": {"href": f"assets/{aid}/renditions/{t}"} for t in types}
        return _json({"base": self._base(request, cid), "links": links}, 202)

    # --- albums -------------------------------------------------------------------------------
    def _album_doc(self, album: _Album) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "name": album.name,
            "userCreated": _ts(album.created),
            "userUpdated": _ts(album.updated),
        }
        if album.asset_ids:
            payload["cover"] = {"id": album.asset_ids[0]}
        return {
            "id": album.id,
            "type": "album",
            "subtype": album.subtype,
            "created": _ts(album.created),
            "updated": _ts(album.updated),
            "payload": payload,
            "links": {
                "self": {"href": f"albums/{album.id}"},
                "/rels/album_assets": {"href": f"albums/{album.id}/assets"},
            },
        }

    def _ep_albums(self, request: Request, cid: str) -> Response:
        self._catalog(cid)
        limit = self._limit(request)
        subtypes = self._subtypes(request, ALBUM_SUBTYPES)
        name_after = request.args.get("name_after")
        with self.state.lock:
            albums = sorted(
                (a for a in self.state.albums.values() if a.subtype in subtypes), key=lambda a: (a.name, a.id)
            )
            if name_after is not None:
                albums = [a for a in albums if a.name > name_after]
            page = albums[:limit]
            resources = [self._album_doc(a) for a in page]
        links: dict[str, Any] = {}
        if len(albums) > limit:
            links["next"] = {
                "href": self._href(
                    "albums",
                    {
                        "subtype": request.args.get("subtype"),
                        "name_after": page[-1].name,
                        "limit": request.args.get("limit"),
                    },
                )
            }
        return _json({"base": self._base(request, cid), "resources": resources, "links": links})

    def _get_album(self, cid: str, alid: str) -> _Album:
        self._catalog(cid)
        if not _is_guid(alid):
            raise _validation_error("album_id", "Must be a valid GUID")
        album = self.state.albums.get(alid)
        if album is None:
            raise _not_found("album")
        return album

    def _ep_album(self, request: Request, cid: str, alid: str) -> Response:
        with self.state.lock:
            album = self._get_album(cid, alid)
            return _json({"base": self._base(request, cid), **self._album_doc(album)})

    def _ep_album_assets(self, request: Request, cid: str, alid: str) -> Response:
        args = request.args
        with self.state.lock:
            album = self._get_album(cid, alid)
            limit = self._limit(request)
            self._subtypes(request, ASSET_SUBTYPES)
            embed = args.get("embed")
            if embed is not None and embed != "asset":
                raise _validation_error("embed", "is invalid")
            members = [self.state.assets[aid] for aid in album.asset_ids if aid in self.state.assets]
            if "asset_ids" in args:
                wanted = set(args["asset_ids"].split(","))
                members = [a for a in members if a.id in wanted]
            common = {"embed": embed, "subtype": args.get("subtype"), "limit": args.get("limit")}
            links: dict[str, Any] = {}
            order_after, order_before = args.get("order_after"), args.get("order_before")
            if order_after is not None or order_before is not None:
                # Album order (lex64 strings); `order_after=-` starts at the first asset.
                ordered = sorted(members, key=lambda a: album.orders[a.id])
                if order_after is not None:
                    ordered = [a for a in ordered if album.orders[a.id] > order_after]
                if order_before is not None:
                    ordered = [a for a in ordered if album.orders[a.id] < order_before]
                page = ordered[:limit]
                if len(ordered) > limit:
                    links["next"] = {
                        "href": self._href(
                            f"albums/{alid}/assets", {"order_after": album.orders[page[-1].id], **common}
                        )
                    }
            else:
                page, next_before, prev_after = self._page_by_capture(members, request, limit)
                if prev_after:
                    links["prev"] = {
                        "href": self._href(f"albums/{alid}/assets", {"captured_after": prev_after, **common})
                    }
                if next_before:
                    links["next"] = {
                        "href": self._href(f"albums/{alid}/assets", {"captured_before": next_before, **common})
                    }
            resources = []
            for asset in page:
                embedded = (
                    self._asset_doc(asset)
                    if embed == "asset"
                    else {"id": asset.id, "links": {"self": {"href": f"assets/{asset.id}"}}}
                )
                resources.append(
                    {
                        "id": photo_gen.hex_id(0, "album_asset", alid, asset.id),
                        "type": "album_asset",
                        "created": UNDATED,
                        "updated": UNDATED,
                        "links": {"self": {"href": f"albums/{alid}/assets/{asset.id}"}},
                        "asset": embedded,
                        "payload": {"order": album.orders[asset.id], "cover": album.asset_ids[:1] == [asset.id]},
                    }
                )
        return _json(
            {
                "base": self._base(request, cid),
                "album": {"id": alid, "links": {"self": {"href": f"albums/{alid}"}}},
                "resources": resources,
                "links": links,
            }
        )

    # --- Adobe IMS token endpoint ---------------------------------------------------------------
    def _ims_token(self, request: Request) -> Response:
        def error(status: int, code: str, description: str) -> Response:
            return _plain_json({"error": code, "error_description": description}, status)

        if request.method != "POST":
            return error(405, "invalid_request", "use POST")
        if request.mimetype != "application/x-www-form-urlencoded":
            return error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return error(400, "unsupported_grant_type", "the sandbox supports grant_type=refresh_token only")
        if form.get("client_id") != self.api_key:
            return error(401, "invalid_client", "invalid client_id parameter")
        if form.get("client_secret") != CLIENT_SECRET:
            return error(401, "invalid_client", "invalid client_secret parameter")
        with self.state.lock:
            if not form.get("refresh_token") or form.get("refresh_token") != self.state.refresh_token:
                return error(400, "invalid_grant", "Invalid refresh token")
            self.state.token_refreshes += 1
            n = self.state.token_refreshes
            access, refresh = f"{ACCESS_TOKEN}-{n}", f"{REFRESH_TOKEN}-{n}"
            self.state.refresh_token = refresh  # the used one is revoked
            self.state.refreshed_tokens.add(access)  # expired tokens stay expired
        return _plain_json(
            {"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": IMS_EXPIRES_IN}
        )

    # --- control API --------------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        try:
            endpoint, args = _CONTROL_ROUTES.bind_to_environ(request.environ).match()
            body = request.get_json(silent=True) if request.data else {}
            if request.data and not isinstance(body, dict):
                return _plain_json({"error": "body must be a JSON object"}, 400)
            ctl: Callable[..., Response] = getattr(self, "_ctl_" + endpoint)  # each endpoint takes its own URL args
            return ctl(request, body or {}, **args)
        except HTTPException as exc:
            return _plain_json({"error": exc.name}, exc.code or 500)
        except (KeyError, ValueError, TypeError) as exc:
            return _plain_json({"error": f"{type(exc).__name__}: {exc}"}, 400)

    def _ctl_state(self, request: Request, body: dict[str, Any]) -> Response:
        return _plain_json(self.state.summary())

    def _ctl_reset(self, request: Request, body: dict[str, Any]) -> Response:
        self.state.reset(
            seed=int(body.get("seed", self.state.seed)),
            count=body.get("count"),
            include_corrupt=bool(body.get("include_corrupt", False)),
        )
        return _plain_json(self.state.summary())

    def _ctl_corrupt(self, request: Request, body: dict[str, Any]) -> Response:
        asset = self.state.add_photo(corrupt=True)
        return _plain_json({"asset_id": asset.id, "updated": _ts(asset.updated)}, 201)

    def _ctl_add_asset(self, request: Request, body: dict[str, Any]) -> Response:
        asset = self.state.add_photo(in_album=bool(body.get("in_album", True)), title=body.get("title"))
        return _plain_json({"asset_id": asset.id, "updated": _ts(asset.updated)}, 201)

    def _ctl_edit(self, request: Request, body: dict[str, Any], aid: str) -> Response:
        if aid not in self.state.assets:
            return _plain_json({"error": "no such asset"}, 404)
        asset = self.state.edit(aid, body)
        return _plain_json({"asset_id": asset.id, "updated": _ts(asset.updated)})

    def _ctl_renditions_missing(self, request: Request, body: dict[str, Any], aid: str) -> Response:
        if aid not in self.state.assets:
            return _plain_json({"error": "no such asset"}, 404)
        asset = self.state.set_renditions_missing(aid, bool(body.get("missing", True)))
        return _plain_json(
            {
                "asset_id": aid,
                "updated": _ts(asset.updated),
                "renditions_missing": asset.renditions_missing_at is not None,
            }
        )

    def _ctl_album_membership(self, request: Request, body: dict[str, Any], alid: str) -> Response:
        with self.state.lock:
            try:
                album = self.state.album_by_name(alid)
            except KeyError:
                return _plain_json({"error": "no such album"}, 404)
            self.state.album_add(album.id, list(body.get("add", [])))
            self.state.album_remove(album.id, list(body.get("remove", [])))
            return _plain_json({"album_id": album.id, "asset_ids": list(album.asset_ids)})

    def _ctl_faults(self, request: Request, body: dict[str, Any]) -> Response:
        with self.state.lock:
            if request.method == "DELETE":
                self.state.faults.clear()
            elif request.method == "POST":
                kind = str(body.get("kind", "status"))
                status = body.get("status")
                delay = float(body.get("delay", 0.0))
                if kind in BODY_FAULTS:
                    status = None
                elif kind != "status":
                    return _plain_json({"error": f"kind must be status or one of {', '.join(BODY_FAULTS)}"}, 400)
                elif status is not None and int(status) not in (429, 500, 502, 503, 504):
                    return _plain_json({"error": "status must be 429, 500, 502, 503, 504 or null"}, 400)
                elif status is None and not delay:
                    return _plain_json({"error": "give a status or a delay"}, 400)
                retry_after = body.get("retry_after")
                self.state.faults.append(
                    _Fault(
                        status=int(status) if status is not None else None,
                        remaining=int(body.get("count", 1)),
                        retry_after=str(retry_after) if retry_after is not None else None,
                        delay=delay,
                        path_contains=body.get("path_contains"),
                        kind=kind,
                    )
                )
            return _plain_json({"faults": [f.__dict__ for f in self.state.faults]})

    def _ctl_token(self, request: Request, body: dict[str, Any]) -> Response:
        self.state.expire_tokens(bool(body.get("expired", True)))
        return _plain_json({"token_expired": self.state.token_expired})

    def _ctl_config(self, request: Request, body: dict[str, Any]) -> Response:
        with self.state.lock:
            if "rendition_generation_delay" in body:
                self.state.rendition_generation_delay = float(body["rendition_generation_delay"])
            return _plain_json({"rendition_generation_delay": self.state.rendition_generation_delay})

    def _ctl_requests(self, request: Request, body: dict[str, Any]) -> Response:
        with self.state.lock:
            if request.method == "DELETE":
                self.state.requests.clear()
            return _plain_json({"requests": list(self.state.requests)})


def _is_guid(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
