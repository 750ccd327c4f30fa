"""A fake Facebook Page on the Graph API (werkzeug WSGI app): photo posts and their listing.

API (what `platforms.facebook.publisher.FacebookPublisher` talks to; Graph API reference "Page Photos"
and "Photo", developers.facebook.com/docs/graph-api/reference/page/photos):
  POST /{version}/{page-id}/photos     form-encoded or multipart/form-data:
        url              public image URL: the fake FETCHES it over HTTP, as Meta does, or
        source           the image file as a multipart part (only this field name is accepted;
                         the real API is more lenient about the part's name)
        caption          the post text (<= 63,206 characters)
        alt_text_custom  accessible description, recorded as sent
        published        default true; `false` makes an unpublished photo (no `post_id`)
      -> 200 {"id": "<photo-id>", "post_id": "<page-id>_<photo-id>"}
  GET  /{version}/{page-id}/photos?type=uploaded&fields=id,name,created_time,page_story_id
        &limit=25&after=<cursor>
      -> {"data": [newest first], "paging": {"cursors": {"before", "after"}, "next"?}}.
        Without `type=uploaded` the edge lists profile pictures (Graph's default `type`),
        which on this fake is an empty list. `name` is the photo's caption. Fields outside
        id,name,created_time,page_story_id,link,alt_text_custom,width,height -> code 100.
  GET  /{version}/{page-id}/published_posts?fields=id,message,created_time,permalink_url
      -> the same posts seen as Page posts.
  Versions: v23.0-v26.0 are served; an older vNN.N -> (#2635) deprecated version; anything
  else -> code 2500 "Unknown path components" (UNCONFIRMED for unknown versions: chosen).
Auth: the Page access token as `Authorization: Bearer|OAuth <token>` or an `access_token`
  query/form parameter.
  none                        -> 400 code 104 "An access token is required to request this resource."
  unknown token               -> 400 code 190 "Invalid OAuth access token - Cannot parse access token"
  expired (/_sandbox/expire-token) -> 400 code 190, error_subcode 463 "Error validating access
                                 token: Session has expired on ... The current time is ..."
                                 (the shape reported in e.g. snarfed/bridgy#59: HTTP 400)
  token of another Page       -> 403 code 200 "(#200) If posting to a page, requires ..."
  unknown page id             -> 400 code 100 GraphMethodException "Unsupported post request..."
Image checks (url or source), Graph's documented limits "Animated photos are not supported,
  and a photo must be less than 10MB in size":
  neither url nor source      -> 400 code 324 "(#324) Requires upload file"
  url not http(s)             -> 400 code 100 "(#100) url should represent a valid URL"
  unreachable / non-200 / not decodable by Pillow
                              -> 400 code 324 "(#324) Missing or invalid image file"
  >= 10 MB, or animated       -> 400 code 324, error_subcode 1366046 (UNCONFIRMED pairing:
                                 third-party error lists give 1366046 for "photos should be
                                 smaller than ... and saved as JPG/PNG"; chosen for both)
  caption > 63,206 characters -> 400 code 100 (UNCONFIRMED message)
Every error is Graph's shape {"error": {"message", "type", "code", "error_subcode"?,
  "is_transient"?, "error_user_title"?, "error_user_msg"?, "fbtrace_id"}}.
Every API response carries `X-App-Usage` and `X-Business-Use-Case-Usage` (Page tokens fall
  under Business Use Case limits: {"<page-id>": [{"type": "pages", "call_count",
  "total_cputime", "total_time", "estimated_time_to_regain_access": <minutes>}]}) and
  `facebook-api-version`.
None of the credentials here is a secret: they are fixed sandbox values.

Control API (sandbox only, no auth):
  POST   /_sandbox/faults        {"kind": "500"|"429"|"timeout"|"slow_accept", "count": 1,
                                  "retry_after": seconds, "delay": seconds, "path_contains": "..."}
         500: HTTP 500 code 2 "An unexpected error has occurred. Please retry your request
              later." with is_transient true.
         429: Meta's Pages throttle: HTTP 403 (the status Graph throttles come with, e.g.
              facebook-android-sdk#582) {"error": {"message": "(#32) Page request limit
              reached", "type": "OAuthException", "code": 32, ...}} and a BUC header whose
              estimated_time_to_regain_access is ceil(retry_after / 60) minutes.
         timeout: sleep `delay`, then 504 without acting.
         slow_accept: act (the photo IS posted), then sleep `delay` before answering.
  GET/DELETE /_sandbox/faults
  POST   /_sandbox/expire-token  the current Page token stops working (code 190 / 463)
  POST   /_sandbox/issue-token   a new valid Page token -> {"page_access_token": ...}
  GET    /_sandbox/posts         photos created, oldest first, with caption, alt text and
                                 image facts (width, height, bytes, format, has_exif_gps)
  GET    /_sandbox/requests      method, path, status, fault (no credentials)
  POST   /_sandbox/reset         forget everything, restore the fixed token
"""

from __future__ import annotations

import base64
import hmac
import io
import itertools
import json
import math
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests as http_client
from PIL import Image
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import control
from socialomega.sandbox.graph import GraphError

PAGE_ID = "104857600000001"
PAGE_NAME = "SocialOmega Sandbox Page"
PAGE_TOKEN = "sandbox-facebook-page-token"
OTHER_PAGE_ID = "104857600000002"
OTHER_PAGE_TOKEN = "sandbox-facebook-other-page-token"  # valid, but for another Page: code 200
SUPPORTED_VERSIONS = ("v23.0", "v24.0", "v25.0", "v26.0")
LATEST_VERSION = "v25.0"
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # "a photo must be less than 10MB in size"
MAX_CAPTION = 63206
FETCH_TIMEOUT = (3.0, 10.0)
PHOTO_FIELDS = ("id", "name", "created_time", "page_story_id", "link", "alt_text_custom", "width", "height")
POST_FIELDS = ("id", "message", "created_time", "permalink_url")

_ROUTES = Map(
    [
        Rule("/<version>/<node>/photos", endpoint="photos", methods=["GET", "POST"]),
        Rule("/<version>/<node>/published_posts", endpoint="published_posts", methods=["GET"]),
    ],
    strict_slashes=False,
)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json; charset=UTF-8")


def _graph_time(moment: datetime) -> str:
    """Graph's timestamp format: 2026-11-26T08:43:11+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class FacebookPageFake(control.SandboxControl):
    """The WSGI app. State is reachable for in-process tests; every change holds `lock`.
    fail_next, the request log and the common /_sandbox endpoints: `control.SandboxControl`."""

    RETRY_AFTER_DEFAULT = 60.0
    EXTRA_CONTROL = {("POST", "/_sandbox/issue-token"): "_ctl_issue_token"}

    def __init__(self, fetch_timeout: tuple[float, float] = FETCH_TIMEOUT) -> None:
        self.lock = threading.RLock()
        self.fetch_timeout = fetch_timeout
        self.reset()

    # --- Python-side control (same effects as /_sandbox/*) ------------------------------------
    def reset(self) -> None:
        with self.lock:
            # token -> (page id, when it expired or None)
            self.tokens: dict[str, tuple[str, datetime | None]] = {
                PAGE_TOKEN: (PAGE_ID, None),
                OTHER_PAGE_TOKEN: (OTHER_PAGE_ID, None),
            }
            self.photos: list[dict[str, Any]] = []  # oldest first
            self._reset_control()
            self.calls = 0
            self._ids = itertools.count(1)

    def expire_token(self) -> None:
        """Every currently valid token of the sandbox Page expires (code 190, subcode 463)."""
        now = datetime.now(UTC).replace(microsecond=0)
        with self.lock:
            self.tokens = {
                t: (page, expired or (now if page == PAGE_ID else None)) for t, (page, expired) in self.tokens.items()
            }

    def issue_token(self) -> str:
        """A fresh valid Page token (what an operator would put into the secret)."""
        token = "sandbox-facebook-page-token-" + secrets.token_hex(8)
        with self.lock:
            self.tokens[token] = (PAGE_ID, None)
        return token

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(p) for p in self.photos]

    # --- WSGI ---------------------------------------------------------------------------------
    def serve(self, request: Request) -> Response:
        """One API call (control.SandboxControl speaks WSGI and answers /_sandbox/*)."""
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException:
            endpoint, args = None, {}
        fault = None
        with self.lock:
            self.calls += 1
        try:
            if endpoint is None:
                raise GraphError(400, 2500, f"Unknown path components: {request.path}")
            self._check_version(args["version"], request.path)
            fault = self.take_fault(request.path)
            response = control.apply_fault(
                fault,
                lambda: getattr(self, "_" + endpoint)(request, **args),
                timeout=_gateway_timeout,
                error=self._fault_error,
            )
        except GraphError as exc:
            response = _json(exc.body(), exc.status, exc.headers)
        except HTTPException as exc:  # werkzeug's form parser (e.g. a broken multipart body)
            response = _json(GraphError(400, 100, f"(#100) {exc.description}").body(), 400)
        return self._finish(request, response, fault)

    def _fault_error(self, fault: control.Fault) -> Response:
        """Graph's answers to the "500" and "429" (Pages throttle) faults."""
        if fault.kind == "500":
            raise GraphError(
                500, 2, "An unexpected error has occurred. Please retry your request later.", transient=True
            )
        raise GraphError(
            403,
            32,
            "(#32) Page request limit reached",
            headers={"X-Business-Use-Case-Usage": self._buc_usage(fault.retry_after)},
        )

    def _finish(self, request: Request, response: Response, fault: control.Fault | None) -> Response:
        response.headers.setdefault("X-App-Usage", json.dumps(self._usage_entry()))
        response.headers.setdefault("X-Business-Use-Case-Usage", self._buc_usage(0))
        response.headers.setdefault("facebook-api-version", LATEST_VERSION)
        response.headers.setdefault("x-fb-trace-id", secrets.token_urlsafe(8))
        self.log_request(request, response.status_code, fault)
        return response

    def _usage_entry(self) -> dict[str, int]:
        with self.lock:
            used = min(99, self.calls)
        return {"call_count": used, "total_cputime": max(1, used // 2), "total_time": max(1, used // 2)}

    def _buc_usage(self, retry_after_seconds: float) -> str:
        minutes = math.ceil(max(0.0, retry_after_seconds) / 60.0)
        entry = {"type": "pages", **self._usage_entry(), "estimated_time_to_regain_access": minutes}
        if minutes:
            entry["call_count"] = 100
        return json.dumps({PAGE_ID: [entry]})

    @staticmethod
    def _check_version(version: str, path: str) -> None:
        if version in SUPPORTED_VERSIONS:
            return
        match = re.fullmatch(r"v(\d+)\.(\d+)", version)
        if match and int(match.group(1)) < int(SUPPORTED_VERSIONS[0][1:].split(".")[0]):
            raise GraphError(
                400,
                2635,
                "(#2635) You are calling a deprecated version of the Graph API. "
                f"Please update to the latest version: {LATEST_VERSION}.",
            )
        raise GraphError(400, 2500, f"Unknown path components: {path}")

    # --- auth -----------------------------------------------------------------------------------
    def _authenticate(self, request: Request, node: str, writing: bool) -> None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = value.strip() if scheme.lower() in ("bearer", "oauth") else None
        token = token or request.args.get("access_token") or request.form.get("access_token")
        if not token:
            raise GraphError(400, 104, "An access token is required to request this resource.")
        with self.lock:
            entry = next((v for t, v in self.tokens.items() if hmac.compare_digest(t, token)), None)
        if entry is None:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        page, expired = entry
        if expired is not None:
            stamp = "%A, %d-%b-%y %H:%M:%S UTC"
            raise GraphError(
                400,
                190,
                f"Error validating access token: Session has expired on "
                f"{expired.strftime(stamp)}. The current time is "
                f"{datetime.now(UTC).strftime(stamp)}.",
                subcode=463,
            )
        if node not in (PAGE_ID, OTHER_PAGE_ID):
            verb = "post" if writing else "get"
            raise GraphError(
                400,
                100,
                f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot "
                "be loaded due to missing permissions, or does not support this operation. "
                "Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                error_type="GraphMethodException",
            )
        if page != node:
            if writing:
                raise GraphError(
                    403,
                    200,
                    "(#200) If posting to a page, requires both pages_read_engagement and "
                    "pages_manage_posts as an admin with sufficient administrative permission",
                )
            raise GraphError(403, 200, "(#200) Permissions error")

    # --- API ------------------------------------------------------------------------------------
    def _photos(self, request: Request, version: str, node: str) -> Response:
        if request.method == "GET":
            return self._list_photos(request, version, node)
        self._authenticate(request, node, writing=True)
        params = {**request.args.to_dict(), **request.form.to_dict()}
        caption = params.get("caption") or params.get("message") or ""
        if len(caption) > MAX_CAPTION:
            raise GraphError(400, 100, f"(#100) Param caption must be at most {MAX_CAPTION} characters long.")
        source = request.files.get("source")
        url = params.get("url")
        if source is not None:
            data, origin = source.read(), "multipart"
        elif url:
            if not re.match(r"(?i)https?://[^/\s]+", url):
                raise GraphError(400, 100, "(#100) url should represent a valid URL")
            data, origin = self._fetch(url), "url"
        else:
            raise GraphError(400, 324, "(#324) Requires upload file")
        facts = _image_facts(data)
        published = str(params.get("published", "true")).lower() not in ("false", "0")
        with self.lock:
            photo_id = f"{PAGE_ID[:6]}{next(self._ids):09d}"
            post_id = f"{node}_{photo_id}" if published else None
            created = datetime.now(UTC).replace(microsecond=0)
            self.photos.append(
                {
                    "id": photo_id,
                    "post_id": post_id,
                    "page_id": node,
                    "version": version,
                    "origin": origin,
                    "caption": caption,
                    "alt_text_custom": params.get("alt_text_custom"),
                    "published": published,
                    "created_time": _graph_time(created),
                    "created_at": created.isoformat(),
                    **facts,
                }
            )
        return _json({"id": photo_id, "post_id": post_id} if post_id else {"id": photo_id})

    def _fetch(self, url: str) -> bytes:
        """Download `url` like Meta's crawler: any failure is an invalid image file."""
        invalid = GraphError(400, 324, "(#324) Missing or invalid image file")
        try:
            with http_client.get(url, timeout=self.fetch_timeout, stream=True, allow_redirects=True) as response:
                if response.status_code != 200:
                    raise invalid
                data: bytes = response.raw.read(MAX_PHOTO_BYTES + 1, decode_content=True)
        except http_client.RequestException:
            raise invalid from None
        return data

    def _list_photos(self, request: Request, version: str, node: str) -> Response:
        self._authenticate(request, node, writing=False)
        fields = _fields(request, ("id", "created_time", "name"), PHOTO_FIELDS, "Photo")
        with self.lock:
            photos = [p for p in reversed(self.photos) if p["page_id"] == node and p["published"]]
        if request.args.get("type", "profile") != "uploaded":
            photos = []  # Graph's default type is `profile`: the Page's profile pictures

        def render(p: dict[str, Any]) -> dict[str, Any]:
            values = {
                "id": p["id"],
                "name": p["caption"],
                "created_time": p["created_time"],
                "page_story_id": p["post_id"],
                "link": f"https://www.facebook.com/photo.php?fbid={p['id']}",
                "alt_text_custom": p["alt_text_custom"],
                "width": p["width"],
                "height": p["height"],
            }
            return {f: values[f] for f in fields if values.get(f) not in (None, "")}

        return self._page(request, version, node, "photos", [render(p) for p in photos])

    def _published_posts(self, request: Request, version: str, node: str) -> Response:
        self._authenticate(request, node, writing=False)
        fields = _fields(request, ("id", "created_time", "message"), POST_FIELDS, "Post")
        with self.lock:
            photos = [p for p in reversed(self.photos) if p["page_id"] == node and p["published"]]

        def render(p: dict[str, Any]) -> dict[str, Any]:
            values = {
                "id": p["post_id"],
                "message": p["caption"],
                "created_time": p["created_time"],
                "permalink_url": f"https://www.facebook.com/{p['post_id']}",
            }
            return {f: values[f] for f in fields if values.get(f) not in (None, "")}

        return self._page(request, version, node, "published_posts", [render(p) for p in photos])

    def _page(self, request: Request, version: str, node: str, edge: str, items: list[dict[str, Any]]) -> Response:
        """Cursor paging as Graph does it: `limit` (default 25, at most 100) and `after`."""
        try:
            limit = max(1, min(100, int(request.args.get("limit", 25))))
            start = int(base64.urlsafe_b64decode(request.args["after"]).decode()) + 1 if "after" in request.args else 0
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, 100, "(#100) Invalid paging parameters") from None
        chunk = items[start : start + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:

            def cursor(i: int) -> str:
                return base64.urlsafe_b64encode(str(i).encode()).decode()

            paging: dict[str, Any] = {"cursors": {"before": cursor(start), "after": cursor(start + len(chunk) - 1)}}
            if start + len(chunk) < len(items):
                query = {k: v for k, v in request.args.items() if k not in ("after", "access_token")}
                query["after"] = paging["cursors"]["after"]
                paging["next"] = f"{request.host_url.rstrip('/')}/{version}/{node}/{edge}?{urlencode(query)}"
            body["paging"] = paging
        return _json(body)

    # --- control (the common endpoints are control.SandboxControl's) ----------------------------
    def _ctl_issue_token(self, body: dict[str, Any], request: Request) -> Response:
        return _json({"page_access_token": self.issue_token()})


def _gateway_timeout(fault: control.Fault) -> Response:
    return Response("Gateway Timeout", status=504, content_type="text/plain")


def _fields(request: Request, default: tuple[str, ...], known: tuple[str, ...], node_type: str) -> list[str]:
    raw = request.args.get("fields")
    fields = [f.strip() for f in raw.split(",") if f.strip()] if raw else list(default)
    for field in fields:
        if field not in known:
            raise GraphError(400, 100, f"(#100) Tried accessing nonexisting field ({field}) on node type ({node_type})")
    return fields


def _image_facts(data: bytes) -> dict[str, Any]:
    too_big = GraphError(
        400,
        324,
        "(#324) Missing or invalid image file",
        subcode=1366046,
        user_title="Can't Read Files",
        user_msg="Your photos couldn't be uploaded. Photos should be less than 10 MB, not "
        "animated, and saved as JPG, PNG, GIF, TIFF, HEIF or WebP files.",
    )
    if len(data) >= MAX_PHOTO_BYTES:
        raise too_big
    try:
        with Image.open(io.BytesIO(data)) as img:
            animated = bool(getattr(img, "is_animated", False)) and getattr(img, "n_frames", 1) > 1
            width, height, fmt = img.width, img.height, img.format
            gps = bool(img.getexif().get_ifd(0x8825))
            img.load()  # a truncated file is not an image
    except Exception:
        raise GraphError(400, 324, "(#324) Missing or invalid image file") from None
    if animated:
        raise too_big
    return {"width": width, "height": height, "bytes": len(data), "format": fmt, "has_exif_gps": gps}


def sandbox_secret() -> dict[str, str]:
    """The target's secret as the publisher reads it from Secrets Manager."""
    return {"page_access_token": PAGE_TOKEN}


def sandbox_target(base_url: str, name: str) -> dict[str, Any]:
    """A complete target entry pointing the publisher at this fake."""
    host = urlsplit(base_url).hostname or ""
    return {
        "name": name,
        "platform": "facebook",
        "spec": {},
        "api_base_url": base_url.rstrip("/"),
        "allowed_hosts": [host],
        "graph_version": LATEST_VERSION,
        "page_id": PAGE_ID,
        "upload": "url",
        "image_url_ttl_seconds": 900,
        "allow_private_network": True,
        "timeout_seconds": 3,
    }
