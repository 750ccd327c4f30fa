"""A fake Instagram Graph API (content publishing, Facebook Login host) as a werkzeug WSGI app.

API (paths are `/{version}/...`, e.g. `/v25.0/17841400000000001/media`):
  POST /{v}/{ig-user-id}/media            create an image container. Parameters in the query
                                          string or a form body (Graph accepts both):
                                          `image_url` (required), `caption`, `alt_text`.
                                          The fake FETCHES `image_url` over HTTP, as Meta does,
                                          and validates the image before answering
                                          `{"id": "<container id>"}`.
  GET  /{v}/{container-id}?fields=status_code,status
                                          `IN_PROGRESS` for `processing_polls` reads, then
                                          `FINISHED`; `PUBLISHED` once published; `EXPIRED`
                                          24 h after creation; `ERROR` (see `fail_processing`).
  POST /{v}/{ig-user-id}/media_publish?creation_id=<container id>
                                          -> `{"id": "<media id>"}`; enforces the publishing
                                          quota (code 9, subcode 2207042).
  GET  /{v}/{media-id}?fields=permalink,caption,timestamp,...
  DELETE /{v}/{media-id}                  -> `{"success": true}` (Meta SDK v25 `IGMedia.api_delete`,
                                          October 2025; answer shape UNCONFIRMED). The whole post is
                                          gone: not listed, its node and insights answer 100/33.
                                          Needs the grant `instagram_manage_contents` (third-party
                                          reports, UNCONFIRMED; in DEFAULT_GRANTS, /_sandbox/
                                          permissions revokes it) -> else 400 code 10 "(#10)
                                          Application does not have permission for this action".
                                          Facebook Login only, which is this host (graph.facebook.com).
                                          Deleted media still count in `content_publishing_limit`
                                          (UNCONFIRMED: Meta does not say).
  POST /{v}/{media-id}?comment_enabled=true|false
                                          -> `{"success": true}`; needs `instagram_manage_comments`
                                          (Comment Moderation guide). Nothing else of a published
                                          post can change: `caption` (or any other parameter) ->
                                          400 code 100 "(#100) Param caption cannot be updated: only
                                          comment_enabled can" (Meta SDK `IGMedia.api_update` takes
                                          comment_enabled only; the message is the fake's).
                                          An unknown, deleted or container id, for either call ->
                                          400 code 100 subcode 33 "Unsupported delete|post request.
                                          Object with ID ... does not exist ...".
  GET  /{v}/{ig-user-id}/media?fields=id,caption,timestamp,permalink&limit=25[&after=cursor]
                                          the account's media, newest first, cursor-paged
                                          (`paging.cursors.after`, `paging.next`).
  GET  /{v}/{ig-user-id}/content_publishing_limit?fields=quota_usage,config[&since=unix]
                                          `{"data": [{"quota_usage": n, "config":
                                          {"quota_total": 50, "quota_duration": 86400}}]}`.
  GET  /{v}/debug_token?input_token=<token>   app token `APP_ID|APP_SECRET` as `access_token` or
                                          Bearer -> the token's expiry, validity, scopes
  GET  /{v}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token
                                          -> a NEW long-lived token (~60 days); see graph.GraphApp
Auth: `access_token` query/form parameter or `Authorization: Bearer|OAuth <token>`; the fixed
sandbox token is `ACCESS_TOKEN` (not a secret), a long-lived user token of app `APP_ID` that
expires 60 days after `reset()` on the fake's clock (`set_token_expiry`); an exchanged token
becomes the current one and the old one works until its own expiry. Missing -> 400 code 2500; unknown -> 400 code
190; expired (`expire_token`) -> 400 code 190 subcode 463 with `WWW-Authenticate: OAuth ...`
(Graph answers OAuthException with HTTP 400, not 401).
Every API answer carries `facebook-api-version`, `x-fb-trace-id`, `X-App-Usage` and
`X-Business-Use-Case-Usage` (BUC, keyed by the IG user id, with
`estimated_time_to_regain_access` in minutes).
Errors are Graph's shape: `{"error": {"message", "type": "OAuthException", "code",
"error_subcode", "is_transient", "error_user_title", "error_user_msg", "fbtrace_id"}}`.

Validation (IG media reference + IG error-codes reference):
  image not fetchable (connection refused, DNS, non-2xx) -> 400 code 9004 subcode 2207052
      ("Media download has failed"); fetch timeout -> 400 code -2 subcode 2207003, transient.
  > 8 MiB -> 36000/2207004; not JPEG (PNG, GIF, ... and MPO, which Pillow reports as "MPO")
      -> 36001/2207005; aspect ratio outside 4:5 .. 1.91:1 -> 36003/2207009;
  caption > 2200 chars or > 30 hashtags -> 36004/2207010; alt_text > 1000 -> 100.
  UNCONFIRMED, chosen: the December 2025 five-hashtag cap is enforced at container creation
  with the same caption error (36004/2207010) when `max_hashtags` (default 5) is exceeded;
  pass `max_hashtags=30` to model an account without the cap.
  UNCONFIRMED, chosen: `alt_text` over 1000 characters -> code 100 (invalid parameter), no
  subcode; publishing a container twice -> code 9007 subcode 2207006 ("cannot be found" as a
  publishable container); an ERROR container -> -1/2207032 on media_publish.
Versions: Graph serves a call to a retired version with the oldest available one (and says
so in `facebook-api-version`); a malformed or not-yet-released version is an unknown path
-> 400 code 2500 "Unknown path components". Available here: OLDEST_VERSION..LATEST_VERSION.

Control API (sandbox only, no auth):
  POST /_sandbox/faults   {"kind": "500"|"429"|"timeout"|"slow_accept", "count": 1,
                           "retry_after": 1, "delay": seconds, "path_contains": "..."}
                          500: HTTP 500 code 2 "Service temporarily unavailable",
                          is_transient; 429: Graph's throttle (HTTP 403, code 4
                          "Application request limit reached") with `X-App-Usage` at 100 and
                          `X-Business-Use-Case-Usage` `estimated_time_to_regain_access` =
                          ceil(retry_after / 60) minutes (Graph sends no Retry-After);
                          timeout: sleep `delay`, answer 504 without acting; slow_accept: act,
                          then sleep `delay` before answering.
  GET/DELETE /_sandbox/faults
  POST /_sandbox/expire-token      the current token stops working (code 190/463)
  GET  /_sandbox/posts             published media, oldest first, with caption, alt_text,
                                   width, height, bytes, has_exif_gps, container_id,
                                   comment_enabled, deleted, deleted_at
  GET  /_sandbox/requests          method, path, status, fields, fault (no credentials)
  POST /_sandbox/quota             {"total": n}       quota_total (default 50)
  POST /_sandbox/processing-polls  {"polls": n}       IN_PROGRESS reads before FINISHED
  POST /_sandbox/token-expiry      {"expires_in": s|null} the current token expires in s seconds
  POST /_sandbox/reset
  plus the engagement controls of sandbox/engagement.py (engage, engagement, clock,
  permissions, delete-post, webhook-url)
Python helpers: fail_next, posts, expire_token, reset, set_quota, set_processing_polls,
expire_container, fail_processing, add_media (a post made outside the API), and engagement.py's.

Insights (answered from the engagement truth, sandbox/engagement.py; Facebook Login host):
  GET /{v}/{ig-media-id}?fields=like_count,comments_count,...   the live counts (IG Media
      fields per Meta's SDK `igmedia.py`).
  GET /{v}/{ig-media-id}/insights?metric=views,reach,saved,shares[,likes,comments,total_interactions]
      -> {"data": [{"name", "period": "lifetime", "values": [{"value": n}], "title", "description",
      "id": "{media}/insights/{name}/lifetime"}]} in the order asked (shape: Meta SDK
      InstagramInsightsResult fields and a captured answer, REF-I section 1.1).
      Needs `instagram_manage_insights` (developers.facebook.com/docs/instagram-api/reference/
      ig-media/insights "Permissions"); without it 400 code 10 "(#10) Application does not have
      permission for this action" (message: third-party Q&A; HTTP status UNCONFIRMED).
      `impressions`, `plays`, `clips_replays_count`, `ig_reels_aggregated_all_plays_count`
      ("deprecated for v22.0 ... all versions on April 21, 2025", Meta's media-insights page) ->
      400 code 100 "Starting from version 22 and above, the <m> metric is no longer supported ..."
      (the message captured for user insights, postiz-app#622; for media UNCONFIRMED).
      `video_views` and the v18 removals (`engagement`, `carousel_album_*`, `taps_*`, `exits`)
      and unknown names -> 400 code 100 "(#100) metric[i] must be one of the following values: ..."
      (captured message shape; list UNCONFIRMED). REELS-only metrics -> 400 code 100 "(#100) The
      Media Insights API does not support the <m> metric for this media product type." (airbyte#62902).
      `profile_visits`, `profile_activity`, `follows` are accepted and left out of `data` (the
      fake has no truth for them; Meta: "returns an empty data set instead of 0").
      `insights_delay_seconds` (default 0) reports as of now minus the delay ("Data ... can be
      delayed up to 48 hours"); before the post existed then: `{"data": []}`.
      Deleted or unknown media -> 400 code 100 subcode 33 (as the node). The `shares` metric on
      IMAGE media is rejected on some accounts (exileum/meta-mcp#174); the fake serves it.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

import requests
from PIL import Image
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import control, engagement
from socialomega.sandbox.graph import LONG_LIVED_SECONDS, GraphApp, GraphError, GraphToken, trace_id
from socialomega.sandbox.ids import id_source

ACCESS_TOKEN = "sandbox-ig-access-token"
IG_USER_ID = "17841400000000001"
# The Meta app the sandbox token belongs to (debug_token, fb_exchange_token); not secrets.
APP_ID = "730000000000001"
APP_SECRET = "sandbox-ig-app-secret"
FB_USER_ID = "100000000000042"
SCOPES = ("instagram_basic", "instagram_content_publish", "pages_show_list", "pages_read_engagement")
USERNAME = "socialomega.sandbox"
LATEST_VERSION = (26, 0)
OLDEST_VERSION = (21, 0)  # UNCONFIRMED: versions live >= 2 years; v21.0 (Oct 2024) chosen
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_CAPTION = 2200
MAX_HASHTAGS_HARD = 30
MAX_ALT_TEXT = 1000
CONTAINER_TTL = 24 * 3600
QUOTA_DURATION = 24 * 3600
_VERSION = re.compile(r"^v(\d+)\.(\d+)$")
_HASHTAG = re.compile(r"(?<!\w)#\w+", re.UNICODE)


class _GraphError(GraphError):
    """Instagram's errors always say whether they are transient (`is_transient`)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        title: str | None = None,
        transient: bool | None = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(status, code, message, user_title=title, transient=transient, **kwargs)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json; charset=UTF-8")


def _graph_time(epoch: float) -> str:
    """Graph's timestamp format: `2026-11-26T08:59:00+0000`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class InstagramFake(control.SandboxControl, engagement.EngagementControl):
    """The WSGI app. `clock` (epoch seconds) is injectable so tests can move time (container
    expiry, the 24 h quota window) without sleeping. fail_next, the request log and the common
    /_sandbox endpoints come from `control.SandboxControl`."""

    EXTRA_CONTROL = {
        ("POST", "/_sandbox/quota"): "_ctl_quota",
        ("POST", "/_sandbox/processing-polls"): "_ctl_processing_polls",
        ("POST", "/_sandbox/token-expiry"): "_ctl_token_expiry",
        **engagement.CONTROL_ROUTES,
    }
    PLATFORM = "instagram"
    DEFAULT_GRANTS = frozenset(SCOPES) | {
        "instagram_manage_insights",
        "instagram_manage_contents",
        "instagram_manage_comments",
    }
    insights_delay_seconds = 0.0  # Meta: insights "can be delayed up to 48 hours"

    def __init__(
        self,
        *,
        quota_total: int = 50,
        processing_polls: int = 1,
        max_hashtags: int = 5,
        fetch_timeout: float = 5.0,
        clock: Any = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = engagement.SandboxClock() if clock is None else clock
        self.fetch_timeout = fetch_timeout
        self._defaults = (quota_total, processing_polls, max_hashtags)
        self.reset()

    # --- Python-side control ----------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.quota_total, self.processing_polls, self.max_hashtags = self._defaults
            self.token = ACCESS_TOKEN
            self.token_expired = False
            # A long-lived user token (Facebook Login), ~60 days from now on the fake's clock.
            self.app = GraphApp(APP_ID, APP_SECRET, "SocialOmega Sandbox")
            now = self.clock()
            self.app.tokens[ACCESS_TOKEN] = GraphToken("USER", FB_USER_ID, now, now + LONG_LIVED_SECONDS, SCOPES)
            self.issued: set[str] = set()  # by fb_exchange_token, and those exchanged: each valid until its expiry
            self.containers: dict[str, dict[str, Any]] = {}
            self.media: dict[str, dict[str, Any]] = {}  # insertion order = oldest first
            self._reset_control()
            self._reset_engagement()
            self.next_processing_error: str | None = None
            self.calls = 0
            self._ids = id_source()  # unique across runs too (sandbox/ids.py)

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._post_view(m) for m in self.media.values() if m.get("via_api")]

    def expire_token(self) -> None:
        with self.lock:
            self.token_expired = True
            for token in self.app.tokens.values():
                token.expired = True

    def set_token_expiry(self, seconds: float | None) -> float | None:
        """The current token expires `seconds` from now on the fake's clock (None: never);
        returns the new `expires_at`."""
        with self.lock:
            known = self.app.find(self.token)
            if known is None:
                known = self.app.tokens[self.token] = GraphToken("USER", FB_USER_ID, self.clock(), None, SCOPES)
            known.expires_at = None if seconds is None else self.clock() + float(seconds)
            return known.expires_at

    def set_quota(self, total: int) -> None:
        with self.lock:
            self.quota_total = int(total)

    def set_processing_polls(self, polls: int) -> None:
        with self.lock:
            self.processing_polls = int(polls)

    def expire_container(self, container_id: str) -> None:
        """Age a container past its 24 h lifetime."""
        with self.lock:
            self.containers[container_id]["created"] -= CONTAINER_TTL + 1

    def fail_processing(self, status: str = "Error: The media could not be processed. (2207001)") -> None:
        """The next container created ends in status_code ERROR with this `status` text."""
        with self.lock:
            self.next_processing_error = status

    def add_media(self, caption: str, *, at: float | None = None) -> str:
        """A post that did not come through the API (or an earlier one): listed, not in posts()."""
        with self.lock:
            media_id = self._new_id("179")
            ts = self.clock() if at is None else at
            self.media[media_id] = {
                "id": media_id,
                "caption": caption,
                "timestamp": ts,
                "via_api": False,
                "deleted_at": None,
                "permalink": f"https://www.instagram.com/p/{_shortcode(media_id)}/",
            }
            self.truth.track(media_id, at=ts)
            return media_id

    # --- WSGI -----------------------------------------------------------------------------------
    def serve(self, request: Request) -> Response:
        """One API call (control.SandboxControl speaks WSGI and answers /_sandbox/*)."""
        version_used = None
        with self.lock:
            fault = self.take_fault(request.path)
            self.calls += 1
        try:
            version_used, parts = self._route_version(request.path)
            response = control.apply_fault(
                fault, lambda: self._dispatch(request, parts), timeout=_gateway_timeout, error=self._fault_error
            )
            if fault is not None and fault.kind == "timeout":  # the gateway's page, no Graph headers
                self._log(request, response, fault)
                return response
        except GraphError as exc:  # the fake's own and graph.GraphApp's (token endpoints)
            response = _json(exc.body(), exc.status, exc.headers)
            if exc.code == 190:
                response.headers["WWW-Authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{exc.message}"'
        for name, value in self._usage_headers().items():
            response.headers.setdefault(name, value)
        if version_used:
            response.headers["facebook-api-version"] = version_used
        response.headers["x-fb-trace-id"] = trace_id()
        self._log(request, response, fault)
        return response

    def _fault_error(self, fault: control.Fault) -> Response:
        """Graph's answers to the "500" and "429" faults."""
        if fault.kind == "500":
            raise _GraphError(
                500, 2, "An unexpected error has occurred. Please retry your request later.", transient=True
            )
        minutes = max(1, math.ceil(fault.retry_after / 60))
        raise _GraphError(
            403,
            4,
            "(#4) Application request limit reached",
            transient=True,
            headers=self._usage_headers(throttled_minutes=minutes),
        )

    def _log(self, request: Request, response: Response, fault: control.Fault | None) -> None:
        self.log_request(
            request, response.status_code, fault, fields=_params(request).get("fields"), at=_graph_time(self.clock())
        )

    def _usage_headers(self, throttled_minutes: int = 0) -> dict[str, str]:
        with self.lock:
            pct = 100 if throttled_minutes else min(80, self.calls)  # grows with use, stays under throttling
        app = {"call_count": pct, "total_time": pct // 2, "total_cputime": pct // 2}
        buc = {
            IG_USER_ID: [
                {
                    "type": "instagram",
                    "call_count": pct,
                    "total_cputime": pct // 2,
                    "total_time": pct // 2,
                    "estimated_time_to_regain_access": throttled_minutes,
                }
            ]
        }
        return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(buc)}

    def _route_version(self, path: str) -> tuple[str, list[str]]:
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise _GraphError(400, 2500, "Unknown path components: /")
        match = _VERSION.match(parts[0])
        if match is None or (int(match[1]), int(match[2])) > LATEST_VERSION:
            raise _GraphError(400, 2500, f"Unknown path components: /{parts[0]}")
        version = (int(match[1]), int(match[2]))
        used = max(version, OLDEST_VERSION)  # a retired version is served as the oldest available
        return f"v{used[0]}.{used[1]}", parts[1:]

    def _dispatch(self, request: Request, parts: list[str]) -> Response:
        params = _params(request)
        method = request.method
        if method == "GET" and parts == ["debug_token"]:  # authorised by the app token (graph.GraphApp)
            caller = params.get("access_token") or _bearer(request)
            with self.lock:
                return _json(self.app.debug(caller, params.get("input_token"), self.clock()))
        if method == "GET" and parts == ["oauth", "access_token"]:
            with self.lock:
                issued = f"{ACCESS_TOKEN}-{secrets.token_hex(8)}"
                body = self.app.exchange(params, self.clock(), issued)
                self.issued.update((params["fb_exchange_token"], issued))
                self.token = issued
            return _json(body)
        self._authenticate(request, params)
        if len(parts) == 2 and parts[0] == IG_USER_ID:
            edge = parts[1]
            if edge == "media" and method == "POST":
                return self._create_container(params)
            if edge == "media" and method == "GET":
                return self._list_media(request, params)
            if edge == "media_publish" and method == "POST":
                return self._publish(params)
            if edge == "content_publishing_limit" and method == "GET":
                return self._publishing_limit(params)
            raise _GraphError(400, 2500, f"Unknown path components: /{edge}")
        if len(parts) == 1 and method == "GET":
            return self._node(parts[0], params)
        if len(parts) == 1 and method == "DELETE":
            return self._delete_media(parts[0])
        if len(parts) == 1 and method == "POST":
            return self._update_media(parts[0], params)
        if len(parts) == 2 and parts[1] == "insights" and method == "GET":
            return self._media_insights(parts[0], params)
        node = parts[0] if parts else ""
        raise _GraphError(
            400,
            100,
            f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )

    def _authenticate(self, request: Request, params: dict[str, str]) -> None:
        token = params.get("access_token")
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if token is None and scheme.lower() in ("bearer", "oauth"):
            token = value.strip()
        if not token:
            raise _GraphError(
                400,
                2500,
                "An active access token must be used to query information about the current user.",
                transient=None,
            )
        with self.lock:
            known = self.app.find(token)
            valid = secrets.compare_digest(token, self.token) or token in self.issued
            expired = self.token_expired or (known is not None and self.app.state(known, self.clock()) == "expired")
        if not valid:
            raise _GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token", transient=None)
        if expired:
            raise _GraphError(
                400,
                190,
                f"Error validating access token: Session has expired on {datetime.now(UTC):%A, %d-%b-%y %H:%M:%S} PST.",
                subcode=463,
                transient=None,
            )

    # --- endpoints ----------------------------------------------------------------------------
    def _create_container(self, params: dict[str, str]) -> Response:
        image_url = params.get("image_url")
        if params.get("media_type") not in (None, "", "IMAGE"):
            raise _GraphError(400, 100, "(#100) This sandbox supports single images only.")
        if not image_url:
            raise _GraphError(400, 100, "(#100) The parameter image_url is required")
        caption = params.get("caption", "")
        alt_text = params.get("alt_text", "")
        tags = _HASHTAG.findall(caption)
        with self.lock:
            cap = min(self.max_hashtags, MAX_HASHTAGS_HARD)
        if len(caption) > MAX_CAPTION or len(tags) > cap:
            raise _GraphError(
                400,
                36004,
                "The caption is too long.",
                subcode=2207010,
                title="Caption too long",
                user_msg=f"The caption can have at most {MAX_CAPTION} characters and {cap} hashtags.",
            )
        if len(alt_text) > MAX_ALT_TEXT:
            raise _GraphError(400, 100, f"(#100) Param alt_text must be at most {MAX_ALT_TEXT} characters long.")
        facts = self._fetch_image(image_url)
        with self.lock:
            container_id = self._new_id("180")
            error, self.next_processing_error = self.next_processing_error, None
            self.containers[container_id] = {
                "id": container_id,
                "caption": caption,
                "alt_text": alt_text,
                "image_url_host": _host(image_url),
                "created": self.clock(),
                "polls_left": self.processing_polls,
                "error": error,
                "published_media_id": None,
                **facts,
            }
        return _json({"id": container_id})

    def _fetch_image(self, url: str) -> dict[str, Any]:
        """Download like Meta's fetcher: real HTTP, at most 8 MiB, then decode with Pillow."""
        failed = _GraphError(
            400,
            9004,
            "Only photo or video can be accepted as media type.",
            subcode=2207052,
            title="Media download has failed.",
            user_msg=f"The media could not be fetched from this URI: {url.split('?')[0]}. "
            "Please check the URI and try again.",
        )
        if not url.startswith(("http://", "https://")):
            raise failed
        try:
            with requests.get(url, timeout=self.fetch_timeout, stream=True) as response:
                if response.status_code != 200:
                    raise failed
                data = response.raw.read(MAX_IMAGE_BYTES + 1, decode_content=True)
        except requests.Timeout:
            raise _GraphError(
                400,
                -2,
                "It takes too long to download the media.",
                subcode=2207003,
                title="Download timeout",
                transient=True,
            ) from None
        except requests.RequestException:
            raise failed from None
        if len(data) > MAX_IMAGE_BYTES:
            raise _GraphError(
                400,
                36000,
                "The image size is too large.",
                subcode=2207004,
                title="Image size too large",
                user_msg="The image is too large to download. It should be less than 8 MiB.",
            )
        unsupported = _GraphError(
            400,
            36001,
            "The image format is not supported.",
            subcode=2207005,
            title="Unsupported image format",
            user_msg="The image format is not supported. Supported format: JPEG.",
        )
        try:
            image = Image.open(io.BytesIO(data))
            image.verify()
            image = Image.open(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - anything Pillow cannot decode is "not a JPEG"
            raise unsupported from None
        if image.format != "JPEG":  # Pillow opens MPO (and other extended JPEG) as "MPO"
            raise unsupported
        width, height = image.size
        ratio = width / height
        if ratio < 0.8 - 1e-9 or ratio > 1.91 + 1e-9:
            raise _GraphError(
                400,
                36003,
                f"The submitted image with aspect ratio ('{width}/{height}') cannot be "
                "published. Please submit an image with a valid aspect ratio.",
                subcode=2207009,
                title="Aspect ratio is not supported.",
                user_msg=f"The image's aspect ratio ({width}/{height}) is not supported: it must be "
                "between 4:5 and 1.91:1.",
            )
        try:
            gps = bool(image.getexif().get_ifd(0x8825))
        except Exception:  # noqa: BLE001 - a broken EXIF block has no usable GPS
            gps = False
        return {"width": width, "height": height, "bytes": len(data), "has_exif_gps": gps}

    def _container_status(self, container: dict[str, Any], count_poll: bool) -> tuple[str, str]:
        """Caller holds the lock."""
        if container["published_media_id"]:
            return "PUBLISHED", "Published: Media has been published."
        if self.clock() - container["created"] > CONTAINER_TTL:
            return "EXPIRED", "Expired: Media container has expired; create a new one."
        if container["polls_left"] > 0:
            if count_poll:
                container["polls_left"] -= 1
            return "IN_PROGRESS", "In Progress: Media is still being processed."
        if container["error"]:
            return "ERROR", container["error"]
        return "FINISHED", "Finished: Media has been uploaded and it is ready to be published."

    def _publish(self, params: dict[str, str]) -> Response:
        creation_id = params.get("creation_id")
        if not creation_id:
            raise _GraphError(400, 100, "(#100) The parameter creation_id is required")
        with self.lock:
            container = self.containers.get(creation_id)
            if container is None or container["published_media_id"]:
                raise _GraphError(
                    400,
                    9007,
                    "Media ID is not available",
                    subcode=2207006,
                    title="Media not found",
                    user_msg=f"The media with {creation_id} cannot be found.",
                )
            status, _text = self._container_status(container, count_poll=False)
            if status == "EXPIRED":
                raise _GraphError(
                    400,
                    -2,
                    "The media you are trying to access has expired.",
                    subcode=2207020,
                    title="Media expired",
                    user_msg="The media you are trying to access has expired. Please try to upload again.",
                )
            if status == "IN_PROGRESS":
                raise _GraphError(
                    400,
                    9007,
                    "Media ID is not available",
                    subcode=2207027,
                    title="Media not ready for publishing",
                    user_msg="The media is not ready for publishing, please wait for a moment.",
                )
            if status == "ERROR":
                raise _GraphError(
                    400,
                    -1,
                    "Create media fail, please try to re-create media",
                    subcode=2207032,
                    title="Create media fail",
                )
            now = self.clock()
            used = self._quota_usage(now - QUOTA_DURATION)
            if used >= self.quota_total:
                raise _GraphError(
                    400,
                    9,
                    "Application request limit reached",
                    subcode=2207042,
                    title="Publishing limit reached",
                    user_msg="You reached maximum number of posts that is allowed to be published "
                    "by Content Publishing API.",
                )
            media_id = self._new_id("179")
            container["published_media_id"] = media_id
            self.media[media_id] = {
                "id": media_id,
                "caption": container["caption"],
                "alt_text": container["alt_text"],
                "timestamp": now,
                "via_api": True,
                "deleted_at": None,
                "container_id": creation_id,
                "permalink": f"https://www.instagram.com/p/{_shortcode(media_id)}/",
                "width": container["width"],
                "height": container["height"],
                "bytes": container["bytes"],
                "has_exif_gps": container["has_exif_gps"],
            }
            self.truth.track(media_id, at=now)
        return _json({"id": media_id})

    def _quota_usage(self, since: float) -> int:
        return sum(1 for m in self.media.values() if m.get("via_api") and m["timestamp"] > since)

    def _publishing_limit(self, params: dict[str, str]) -> Response:
        now = self.clock()
        since = now - QUOTA_DURATION
        if params.get("since"):
            try:
                since = max(since, float(params["since"]))
            except ValueError:
                raise _GraphError(400, 100, "(#100) Param since must be a unix timestamp") from None
        fields = _fields(params) or ["quota_usage"]
        with self.lock:
            entry: dict[str, Any] = {}
            if "quota_usage" in fields:
                entry["quota_usage"] = self._quota_usage(since)
            if "config" in fields:
                entry["config"] = {"quota_total": self.quota_total, "quota_duration": QUOTA_DURATION}
        return _json({"data": [entry]})

    def _node(self, node_id: str, params: dict[str, str]) -> Response:
        fields = _fields(params)
        with self.lock:
            container = self.containers.get(node_id)
            if container is not None:
                status_code, status = self._container_status(container, count_poll=True)
                values: dict[str, object] = {"id": node_id, "status_code": status_code, "status": status}
                return _json({k: v for k, v in values.items() if k == "id" or k in (fields or ["id"])})
            media = self.media.get(node_id)
            tracked = self.truth.find(node_id)
            if media is not None and (tracked is None or tracked.deleted_at is None):
                view = self._media_view(media)
                return _json({k: v for k, v in view.items() if k == "id" or k in (fields or ["id"])})
            if node_id == IG_USER_ID:
                values = {"id": IG_USER_ID, "username": USERNAME, "media_count": len(self.media)}
                return _json({k: v for k, v in values.items() if k == "id" or k in (fields or ["id"])})
        raise _GraphError(
            400,
            100,
            f"Unsupported get request. Object with ID '{node_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            subcode=33,
        )

    def _delete_media(self, media_id: str) -> Response:
        with self.lock:
            media = self._live_media(media_id, "delete")
            if not self.truth.has("instagram_manage_contents"):
                raise _GraphError(400, 10, "(#10) Application does not have permission for this action")
            media["deleted_at"] = self.clock()
            self.truth.delete(media_id)
        return _json({"success": True})

    def _update_media(self, media_id: str, params: dict[str, str]) -> Response:
        with self.lock:
            media = self._live_media(media_id, "post")
            fields = sorted(set(params) - {"access_token"})
            refused = [f for f in fields if f != "comment_enabled"]
            if refused or not fields:
                name = refused[0] if refused else "comment_enabled"
                raise _GraphError(400, 100, f"(#100) Param {name} cannot be updated: only comment_enabled can")
            value = params["comment_enabled"].lower()
            if value not in ("true", "false"):
                raise _GraphError(400, 100, "(#100) Param comment_enabled must be a boolean")
            if not self.truth.has("instagram_manage_comments"):
                raise _GraphError(400, 10, "(#10) Application does not have permission for this action")
            media["comment_enabled"] = value == "true"
        return _json({"success": True})

    def _live_media(self, media_id: str, verb: str) -> dict[str, Any]:
        """Published media of the account, not deleted (on the API or via /_sandbox/delete-post)."""
        media = self.media.get(media_id)
        if media is None or media["deleted_at"] is not None or self.truth.live(media_id) is None:
            raise _GraphError(
                400,
                100,
                f"Unsupported {verb} request. Object with ID '{media_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                subcode=33,
            )
        return media

    def _list_media(self, request: Request, params: dict[str, str]) -> Response:
        fields = _fields(params) or ["id"]
        try:
            limit = min(100, max(1, int(params.get("limit", "25"))))
            offset = int(base64.urlsafe_b64decode(params["after"]).decode()) if params.get("after") else 0
        except (ValueError, UnicodeDecodeError):
            raise _GraphError(400, 100, "(#100) Invalid paging parameter") from None
        with self.lock:
            newest_first = [
                m for m in reversed(self.media.values()) if m["deleted_at"] is None and self.truth.live(m["id"])
            ]
            page = [self._media_view(m) for m in newest_first[offset : offset + limit]]
            more = offset + limit < len(newest_first)
        body: dict[str, Any] = {"data": [{k: v for k, v in m.items() if k == "id" or k in fields} for m in page]}
        if page:
            cursors = {
                "before": base64.urlsafe_b64encode(str(offset).encode()).decode(),
                "after": base64.urlsafe_b64encode(str(offset + len(page)).encode()).decode(),
            }
            body["paging"] = {"cursors": cursors}
            if more:
                # Like Graph's, `next` repeats the query; the sandbox leaves the token out of it.
                query = {k: v for k, v in params.items() if k != "access_token"}
                query["after"] = cursors["after"]
                body["paging"]["next"] = request.base_url + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return _json(body)

    # --- helpers ------------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):014d}"

    def _media_view(self, media: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": media["id"],
            "caption": media["caption"],
            "timestamp": _graph_time(media["timestamp"]),
            "permalink": media["permalink"],
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "username": USERNAME,
            **self._live_counts(media["id"]),
        }

    # --- insights (the truth is sandbox/engagement.py's) ------------------------------------------
    def _live_counts(self, media_id: str) -> dict[str, int]:
        post = self.truth.find(media_id)
        counts = self.truth.metrics(post, self.clock()) if post is not None else {"likes": 0, "comments": 0}
        return {"like_count": counts["likes"], "comments_count": counts["comments"]}

    def _media_insights(self, media_id: str, params: dict[str, str]) -> Response:
        with self.lock:
            known = media_id in self.media
        post = self.truth.live(media_id)
        if not known or post is None:
            raise _GraphError(
                400,
                100,
                f"Unsupported get request. Object with ID '{media_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                subcode=33,
            )
        names = [m.strip() for m in params.get("metric", "").split(",") if m.strip()]
        if not names:
            raise _GraphError(400, 100, "(#100) The parameter metric is required")
        for i, name in enumerate(names):
            if name in _DEPRECATED_V22:
                raise _GraphError(
                    400,
                    100,
                    f"Starting from version 22 and above, the {name} metric is no longer supported for the "
                    "queried media. Please refer to the documentation at https://developers.facebook.com/docs/"
                    "instagram-platform/reference/instagram-media/insights for a list of supported metrics.",
                )
            if name in _REELS_ONLY:
                raise _GraphError(
                    400,
                    100,
                    f"(#100) The Media Insights API does not support the {name} metric for this media product type.",
                )
            if name not in _MEDIA_METRICS and name not in _NO_TRUTH:
                allowed = ", ".join(sorted({*_MEDIA_METRICS, *_NO_TRUTH, *_REELS_ONLY}))
                raise _GraphError(400, 100, f"(#100) metric[{i}] must be one of the following values: {allowed}")
        if not self.truth.has("instagram_manage_insights"):
            raise _GraphError(400, 10, "(#10) Application does not have permission for this action")
        as_of = self.clock() - self.insights_delay_seconds
        if as_of < post.published_at:
            return _json({"data": []})
        values = self.truth.metrics(post, as_of)
        data = []
        for name in dict.fromkeys(names):
            if name in _NO_TRUTH:
                continue
            title, description, value = _MEDIA_METRICS[name]
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": value(values)}],
                    "title": title,
                    "description": description,
                    "id": f"{media_id}/insights/{name}/lifetime",
                }
            )
        return _json({"data": data})

    def _post_view(self, media: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": media["id"],
            "container_id": media.get("container_id"),
            "caption": media["caption"],
            "alt_text": media.get("alt_text", ""),
            "width": media.get("width"),
            "height": media.get("height"),
            "bytes": media.get("bytes"),
            "has_exif_gps": media.get("has_exif_gps"),
            "permalink": media["permalink"],
            "timestamp": _graph_time(media["timestamp"]),
            "comment_enabled": media.get("comment_enabled", True),
            "deleted": media["deleted_at"] is not None or self.truth.live(media["id"]) is None,
            "deleted_at": media["deleted_at"],
        }

    # --- control API (the common endpoints are control.SandboxControl's) ------------------------
    def _ctl_quota(self, body: dict[str, Any], request: Request) -> Response:
        self.set_quota(int(body.get("total", 50)))
        return _json({"quota_total": self.quota_total})

    def _ctl_processing_polls(self, body: dict[str, Any], request: Request) -> Response:
        self.set_processing_polls(int(body.get("polls", 0)))
        return _json({"processing_polls": self.processing_polls})

    def _ctl_token_expiry(self, body: dict[str, Any], request: Request) -> Response:
        seconds = body.get("expires_in")
        if seconds is not None and not isinstance(seconds, int | float):
            return self._control_error("expires_in must be a number of seconds or null")
        return _json({"expires_at": self.set_token_expiry(seconds)})


def _gateway_timeout(fault: control.Fault) -> Response:
    return Response("<html><body>504 Gateway Time-out</body></html>", status=504, content_type="text/html")


# FEED media insights: name -> (title, description, value from engagement.PostTruth.metrics()).
# Names: Meta SDK v25 `InstagramInsightsResult.Metric`; titles and descriptions are the fake's.
_MEDIA_METRICS: dict[str, tuple[str, str, Any]] = {
    "views": ("Views", "The number of times the media was played or displayed.", lambda m: m["views"]),
    "reach": ("Accounts reached", "Unique accounts that have seen the media at least once.", lambda m: m["reach"]),
    "saved": ("Saved", "Unique accounts that saved the media.", lambda m: m["saves"]),
    "shares": ("Shares", "The number of shares of the media.", lambda m: m["shares"]),
    "likes": ("Likes", "The number of likes on the media.", lambda m: m["likes"]),
    "comments": ("Comments", "The number of comments on the media.", lambda m: m["comments"]),
    "total_interactions": (
        "Interactions",
        "Likes, saves, comments and shares on the media, minus unlikes, unsaves and deleted comments.",
        lambda m: m["likes"] + m["comments"] + m["saves"] + m["shares"],
    ),
}
_NO_TRUTH = frozenset({"profile_visits", "profile_activity", "follows"})
_REELS_ONLY = frozenset(
    {
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
        "reels_skip_rate",
        "crossposted_views",
        "facebook_views",
    }
)
_DEPRECATED_V22 = frozenset({"impressions", "plays", "clips_replays_count", "ig_reels_aggregated_all_plays_count"})


def _params(request: Request) -> dict[str, str]:
    """Graph reads parameters from the query string and from a form body alike."""
    values = dict(request.args.items())
    if request.method == "POST":
        values.update(request.form.items())
    return values


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") else None


def _fields(params: dict[str, str]) -> list[str]:
    return [f.strip() for f in params.get("fields", "").split(",") if f.strip()]


def _host(url: str) -> str:
    return url.split("/")[2] if url.count("/") >= 2 else ""


def _shortcode(media_id: str) -> str:
    return base64.urlsafe_b64encode(int(media_id).to_bytes(8, "big")).decode().rstrip("=")


def sandbox_secret() -> dict[str, Any]:
    """The target's Secrets Manager value, as the publisher reads it."""
    return {"access_token": ACCESS_TOKEN, "app_id": APP_ID, "app_secret": APP_SECRET}


def sandbox_target(base_url: str, name: str) -> dict[str, Any]:
    """A complete target entry pointing the Instagram publisher at this fake."""
    return {
        "name": name,
        "platform": "instagram",
        "spec": {},
        "api_base_url": base_url.rstrip("/"),
        "graph_version": "v25.0",
        "ig_user_id": IG_USER_ID,
        "allow_private_network": True,
        "timeout_seconds": 3,
        "status_poll_attempts": 4,
        "status_poll_initial_delay": 0.05,
        "status_poll_max_delay": 0.2,
    }
