"""A fake of LinkedIn's versioned REST API for image posts (Images API + Posts API), werkzeug WSGI.

Every /rest call needs `Authorization: Bearer <token>`, `Linkedin-Version: YYYYMM` (or
`YYYYMM.RR`) and `X-Restli-Protocol-Version: 2.0.0`:
  POST /rest/images?action=initializeUpload
       {"initializeUploadRequest": {"owner": <urn:li:person:..|urn:li:organization:..>}}
       -> 200 {"value": {"uploadUrlExpiresAt": <epoch ms>, "uploadUrl": "<this host>/dms-uploads/<t>",
                         "image": "urn:li:image:D4D10AQ..."}}
  PUT  /dms-uploads/<t>          the raw image bytes (pre-signed: no auth needed; a Bearer header, as
                                 LinkedIn's own curl example sends, is accepted) -> 201, empty body.
                                 Processing is asynchronous, as on LinkedIn: a file that is not a
                                 JPEG/PNG/GIF (GIF <= 250 frames), or has 36,152,320 pixels or more,
                                 ends PROCESSING_FAILED; others are PROCESSING for `processing_delay`
                                 seconds, then AVAILABLE. An expired or used URL -> 403/409.
  GET  /rest/images/{urn}        {"id", "owner", "status": WAITING_UPLOAD|PROCESSING|AVAILABLE|
                                 PROCESSING_FAILED, "downloadUrl"?, "downloadUrlExpiresAt"?}
  POST /rest/posts               {"author", "commentary" (<= 3,000), "visibility": PUBLIC|CONNECTIONS|
                                 LOGGED_IN, "distribution": {"feedDistribution": MAIN_FEED|NONE, ...},
                                 "content": {"media": {"id": <image urn>, "altText"?, "title"?}},
                                 "lifecycleState": PUBLISHED|DRAFT, "isReshareDisabledByAuthor"?}
                                 -> 201, empty body, post URN in `x-restli-id` (urn:li:share:<n>).
                                 The image must be the author's and AVAILABLE.
  GET  /rest/posts?author=<urlencoded urn>&q=author&count=&start=&sortBy=LAST_MODIFIED|CREATED
       with `X-RestLi-Method: FINDER` -> {"paging": {"start", "count", "links", "total"},
                                          "elements": [post, ...]} newest first.
  GET  /rest/posts/{urn}         one post (a deleted one: 404 NOT_FOUND).
  POST /rest/posts/{urn}         with `X-RestLi-Method: PARTIAL_UPDATE` and `{"patch": {"$set": {...}}}`
                                 -> 204, empty body (UNCONFIRMED: clients accept any 2xx). `$set` may
                                 hold the Posts API's updatable fields (commentary <= 3,000,
                                 contentCallToActionLabel, contentLandingPage, lifecycleState,
                                 adContext, reshareContext); anything else (content, author, ...)
                                 -> 422 FIELD_NOT_UPDATABLE "ERROR :: /content :: field cannot be
                                 updated" (the rule: LinkedIn's Postman collection, "The following
                                 posts field are available to update"; code and message ours).
                                 Without the header, or without `patch.$set` -> 400 ILLEGAL_ARGUMENT.
                                 The update moves `lastModifiedAt` (the finder's LAST_MODIFIED order).
  DELETE /rest/posts/{urn}       -> 204 ("Post deletions are idempotent. Deletion requests for a
                                 previously deleted UGC Post will return a 204."); an URN that never
                                 was a post -> 404 NOT_FOUND (UNCONFIRMED). A deleted post is out of
                                 the finder, GET, edits (404) and the statistics.
       Both need the grant `w_member_social` for the member's posts, `w_organization_social` for the
       organization's (Posts API permissions; /_sandbox/permissions revokes them), and a post of the
       member or their organization: else 403 ACCESS_DENIED "Not enough permissions to access:
       partialUpdate|delete /rest/posts" (shape as captured, verb ours). An unknown or deleted post
       -> 404 NOT_FOUND. `add_foreign_post` makes a post of someone else. /_sandbox/posts shows
       `commentary` (current), `edits`, `edited_at`, `deleted`, `deleted_at`.

Identity: the sandbox token belongs to member `MEMBER_URN`, who administers `ORG_URN`; any other
owner/author -> 403 ACCESS_DENIED. It expires 60 days after `reset()` on the fake's clock
(`set_token_expiry`): then 401 EXPIRED_ACCESS_TOKEN (below).

OAuth (www.linkedin.com in reality, this fake's port here), form-encoded, no API headers:
  POST /oauth/v2/introspectToken  `client_id, client_secret, token` -> 200 {"active", "client_id",
       "authorized_at", "created_at", "status": active|expired|revoked, "expires_at", "scope",
       "auth_type": "3L"} (epoch seconds); 400 for an unknown client id or token, 401 for a bad
       secret (learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection).
  POST /oauth/v2/accessToken      `grant_type=refresh_token, refresh_token, client_id,
       client_secret` -> 200 {"access_token" (NEW), "expires_in" (60 days, never beyond the
       refresh token), "refresh_token" (the same: not rotated), "refresh_token_expires_in"
       (365 days from the authorisation, not extended), "scope"}
       (…/programmatic-refresh-tokens). Refused -> 400 `invalid_request` (unknown or expired
       refresh token), 400 `unauthorized_client` (`set_refresh(granted=False)`: not an MDP
       partner), 401 `invalid_client`. Error bodies are RFC 6749's {"error", "error_description"}
       (UNCONFIRMED for LinkedIn).

Error bodies are LinkedIn's `{"status", "serviceErrorCode"?, "code", "message"}`:
  401 {"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"}
      unknown/missing token; past its expiry {"status":401,"serviceErrorCode":65602,"code":
      "EXPIRED_ACCESS_TOKEN","message":"The token used in the request has expired"} (UNCONFIRMED:
      the message as third parties quote it, the codes ours); after expire-token the token answers LinkedIn's
      {"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN",
       "message":"The token used in the request has been revoked by the user"}  (captured bodies).
  403 {"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED",
       "message":"Not enough permissions to access: POST /rest/posts"}          (captured shape).
  426 {"status":426,"code":"NONEXISTENT_VERSION","message":"Requested version 20240401 is not active"}
      for a Linkedin-Version outside the active window (the 12 months up to the current one), the
      exact body LinkedIn sends (many public bug reports; YYYYMM is rendered YYYYMM01).
  400 {"status":400,"code":"VERSION_MISSING","message":"A version must be present. ..."} without the
      version header. UNCONFIRMED: LinkedIn answers an error here (its versioning guide); the code
      string is our choice. Same status, code ILLEGAL_ARGUMENT, for a missing/wrong
      X-Restli-Protocol-Version, a finder without `X-RestLi-Method: FINDER`, or bad JSON.
  422 {"status":422,"code":<FIELD_VALUE_TOO_LONG|MISSING_REQUIRED_FIELD|INVALID_FIELD_VALUE|
      MEDIA_NOT_AVAILABLE>,"message":"/commentary :: ..."} for invalid post bodies. UNCONFIRMED: Rest.li
      answers 422 with an "ERROR :: /field :: ..." message; the codes are ours.
  429 {"status":429,"serviceErrorCode":101,"code":"TOO_MANY_REQUESTS","message":"Resource level
      throttle limit for calls to this resource is reached."}; with `"daily": true` the message is
      LinkedIn's "Resource level throttle APPLICATION DAY limit ..." (reset at midnight UTC).
      LinkedIn documents no Retry-After and no rate-limit headers, so the fake sends NONE (a fault's
      `retry_after` is accepted and ignored): clients must back off on their own.
  500 {"status":500,"code":"INTERNAL_SERVER_ERROR","message":"Internal Server Error"}
  504 {"status":504,"code":"GATEWAY_TIMEOUT","message":"Gateway Timeout"} (the `timeout` fault).
None of the credentials here is a secret: they are fixed sandbox values.

Control API (sandbox only, no auth):
  POST /_sandbox/faults   {"kind": "500"|"429"|"timeout"|"slow_accept", "count": 1, "delay": s,
                           "path_contains": "...", "daily": false} for the next N matching /rest or
                           /dms-uploads calls. timeout: sleep `delay`, answer 504 without acting;
                           slow_accept: act, then sleep `delay` before answering.
  GET/DELETE /_sandbox/faults
  POST /_sandbox/expire-token   every access token issued so far is revoked (401 REVOKED_ACCESS_TOKEN)
  POST /_sandbox/token-expiry   {"expires_in": s} the current access token expires in s seconds
  GET  /_sandbox/posts          created posts, oldest first, with commentary, alt_text, image facts
                                (width, height, bytes, format, has_exif_gps)
  GET  /_sandbox/requests       method, path, status, fault of every API/upload call (no credentials)
  POST /_sandbox/reset
  plus the engagement controls of sandbox/engagement.py (engage, engagement, clock,
  permissions, delete-post, webhook-url; webhooks only for organization posts: LinkedIn's
  social-action notifications are the organization's)

Engagement reads (answered from the engagement truth, sandbox/engagement.py), the usual /rest
headers and token. The account's granted scopes start as DEFAULT_GRANTS: the member's
`r_member_postAnalytics` and the organization admin's `r_organization_social`,
`rw_organization_admin`, but not the restricted `r_member_social` ("granted to select
developers only"). A missing scope or a post of someone else -> 403 {"status": 403,
"serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions to access:
GET /rest/<resource>"}. A deleted or unknown post -> 404 NOT_FOUND.
  GET /rest/socialActions/{encoded urn}   {"likesSummary": {"totalLikes", "aggregatedTotalLikes",
      "likedByCurrentUser": false, "selectedLikes": []}, "commentsSummary":
      {"totalFirstLevelComments", "aggregatedTotalComments", "selectedComments": []}, "target"}
      (learn.microsoft.com/.../network-update-social-actions). Org posts: r_organization_social;
      member posts: r_member_social.
  GET /rest/socialMetadata/{encoded urn}  {"reactionSummaries": {"LIKE": {"reactionType": "LIKE",
      "count"}}, "commentSummary": {"count", "topLevelCount"}, "commentsState": "OPEN", "entity"}
      (field names UNCONFIRMED; same scopes as socialActions).
  GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=<org>
      [&shares=List(<urn:li:share:..>,...)][&ugcPosts=List(<urn:li:ugcPost:..>,...)]
      -> {"paging", "elements": [{"totalShareStatistics": {"uniqueImpressionsCount" (reach),
      "shareCount", "engagement" (float: (clicks + likes + comments + shares) / impressions),
      "clickCount", "likeCount", "impressionCount" (views), "commentCount"},
      "organizationalEntity", "share"}]} lifetime totals, organic (learn.microsoft.com/.../
      organizations/share-statistics; element shape: Q&A 1151813). Without a list: one element
      for the whole organization (no `share`). Needs rw_organization_admin as ADMINISTRATOR of
      <org>. A share URN in `ugcPosts` (or a ugcPost in `shares`) -> 403 "Unpermitted fields
      present in PARAMETER: Data Processing Exception while processing fields [/ugcPosts]"
      (Q&A 1331917). The `List(...)` syntax is UNCONFIRMED; posts not of <org> are left out
      (UNCONFIRMED); `timeIntervals` -> 400 (the sandbox serves lifetime totals only).
  GET /rest/memberCreatorPostAnalytics?q=entity&entity=(share:<urn>)&queryType=<Q>&aggregation=TOTAL
      Q: IMPRESSION (views), MEMBERS_REACHED (reach), RESHARE (shares), REACTION (likes),
      COMMENT (comments), POST_SAVE (saves, version 202603+); one metric per call
      (learn.microsoft.com/.../members/post-statistics). -> {"paging", "elements": [{"count",
      "metricType": {"com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1":
      <Q>}}]}. Entity syntax `(share:..)`/`(ugc:..)`, `TOTAL` and the element shape are
      UNCONFIRMED (third-party readers take `count` and a string or one-key `metricType`).
      Needs r_member_postAnalytics and a post of the token's member; DAILY -> 400 (not served).
"""

from __future__ import annotations

import hmac
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from PIL import Image, UnidentifiedImageError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import control, engagement
from socialomega.sandbox.ids import id_source

ACCESS_TOKEN = "sandbox-linkedin-access-token"
# The LinkedIn app (an approved MDP partner: it gets refresh tokens) and the member's refresh token.
CLIENT_ID = "sandbox-linkedin-client-id"
CLIENT_SECRET = "sandbox-linkedin-client-secret"
REFRESH_TOKEN = "sandbox-linkedin-refresh-token"
ACCESS_TOKEN_SECONDS = 60 * 86400  # "access tokens ... valid for 60 days"
REFRESH_TOKEN_SECONDS = 365 * 86400  # "refresh tokens ... valid for 365 days" from the authorisation
TOKEN_SCOPE = "w_member_social,r_basicprofile"
MEMBER_URN = "urn:li:person:SbxMember01"
ORG_URN = "urn:li:organization:2414183"
# Images API: "fewer than 36,152,320 pixels"; JPG, PNG, GIF up to 250 frames. UNCONFIRMED (widely
# quoted from the Images API page, official text not read): the fake enforces these numbers.
MAX_PIXELS = 36_152_320
MAX_GIF_FRAMES = 250
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF"}
COMMENTARY_MAX = 3000
# Posts API "Update Posts": the fields a PARTIAL_UPDATE may $set (LinkedIn's Postman collection).
UPDATABLE_FIELDS = (
    "commentary",
    "contentCallToActionLabel",
    "contentLandingPage",
    "lifecycleState",
    "adContext",
    "reshareContext",
)
STRANGER_URN = "urn:li:person:SbxStranger02"  # neither the member nor their organization
UPLOAD_URL_TTL = 3600.0
VERSION_WINDOW_MONTHS = 12
_VERSION = re.compile(r"^(\d{4})(\d{2})(?:\.\d{2})?$")
_URN_OWNER = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")

_ROUTES = Map(
    [
        Rule("/rest/images", endpoint="images_action", methods=["POST"]),
        Rule("/rest/images/<path:urn>", endpoint="get_image", methods=["GET"]),
        Rule("/dms-uploads/<token>", endpoint="upload", methods=["PUT"]),
        Rule("/rest/posts", endpoint="create_post", methods=["POST"]),
        Rule("/rest/posts", endpoint="find_posts", methods=["GET"]),
        Rule("/rest/posts/<path:urn>", endpoint="get_post", methods=["GET"]),
        Rule("/rest/posts/<path:urn>", endpoint="update_post", methods=["POST"]),
        Rule("/rest/posts/<path:urn>", endpoint="remove_post", methods=["DELETE"]),
        Rule("/rest/socialActions/<path:urn>", endpoint="social_actions", methods=["GET"]),
        Rule("/rest/socialMetadata/<path:urn>", endpoint="social_metadata", methods=["GET"]),
        Rule("/rest/organizationalEntityShareStatistics", endpoint="share_statistics", methods=["GET"]),
        Rule("/rest/memberCreatorPostAnalytics", endpoint="member_post_analytics", methods=["GET"]),
        # www.linkedin.com's OAuth endpoints (served on this fake's port, like the API).
        Rule("/oauth/v2/introspectToken", endpoint="introspect_token", methods=["POST"]),
        Rule("/oauth/v2/accessToken", endpoint="access_token_grant", methods=["POST"]),
    ]
)
_OAUTH_ENDPOINTS = ("introspect_token", "access_token_grant")


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, service_code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.service_code = status, code, message, service_code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.service_code is not None:
            body["serviceErrorCode"] = self.service_code
        body["code"] = self.code
        body["message"] = self.message
        return body


class _OAuthError(_ApiError):
    """An OAuth endpoint's error: RFC 6749's `{"error", "error_description"}` (UNCONFIRMED:
    LinkedIn's introspection page gives the statuses, 400 and 401, not the bodies)."""

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.message}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def active_versions(now: float | None = None) -> list[str]:
    """The YYYYMM versions the fake serves: the 12 months up to the current one (LinkedIn
    supports each monthly version for about a year)."""
    today = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    current = _month_index(today.year, today.month)
    return [f"{i // 12:04d}{i % 12 + 1:02d}" for i in range(current - VERSION_WINDOW_MONTHS + 1, current + 1)]


def sandbox_version(now: float | None = None) -> str:
    """A version the fake accepts, pinned one month back so it is released everywhere."""
    return active_versions(now)[-2]


def sandbox_secret() -> dict[str, str]:
    """The target's Secrets Manager value, as the publisher reads it (and the token keeper,
    which also reads the app's client id and secret and the refresh token)."""
    return {
        "access_token": ACCESS_TOKEN,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }


def sandbox_target(base_url: str, name: str) -> dict[str, Any]:
    """A complete target entry pointing the LinkedIn publisher at this fake."""
    return {
        "name": name,
        "platform": "linkedin",
        "spec": {},
        "api_base_url": base_url.rstrip("/"),
        "oauth_base_url": base_url.rstrip("/"),
        "linkedin_version": sandbox_version(),
        "author": MEMBER_URN,
        "allow_private_network": True,
        "timeout_seconds": 3,
        "image_wait_seconds": 5,
        "image_poll_seconds": 0.2,
    }


def _image_facts(data: bytes) -> dict[str, Any]:
    """What LinkedIn's processing would learn: format, size, frames; error text if unusable."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, width, height = img.format, img.width, img.height
            frames = getattr(img, "n_frames", 1)
            exif = img.getexif()
            has_gps = bool(exif.get_ifd(0x8825)) if exif else False
            img.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        return {"error": f"not a decodable image: {type(exc).__name__}", "bytes": len(data)}
    facts = {
        "format": fmt,
        "width": width,
        "height": height,
        "bytes": len(data),
        "has_exif_gps": has_gps,
        "frames": frames,
    }
    if fmt not in ALLOWED_FORMATS:
        facts["error"] = f"unsupported format {fmt}"
    elif width * height >= MAX_PIXELS:
        facts["error"] = f"{width * height} pixels, the limit is fewer than {MAX_PIXELS}"
    elif fmt == "GIF" and frames > MAX_GIF_FRAMES:
        facts["error"] = f"{frames} GIF frames, the limit is {MAX_GIF_FRAMES}"
    return facts


class LinkedInFake(control.SandboxControl, engagement.EngagementControl):
    """The WSGI app. `clock` is wall time in seconds (tests may move it). fail_next (plus
    `daily`; `retry_after` is accepted and ignored: LinkedIn sends no Retry-After), the request
    log and the common /_sandbox endpoints come from `control.SandboxControl`."""

    FAULT_OPTIONS = {"daily": bool}
    EXPIRE_TOKEN_ANSWER = {"revoked": True}
    EXTRA_CONTROL = {("POST", "/_sandbox/token-expiry"): "_ctl_token_expiry", **engagement.CONTROL_ROUTES}
    PLATFORM = "linkedin"
    DEFAULT_GRANTS = frozenset(TOKEN_SCOPE.split(",")) | {
        "r_member_postAnalytics",
        "w_organization_social",
        "r_organization_social",
        "rw_organization_admin",
    }

    def __init__(
        self,
        processing_delay: float = 0.0,
        upload_url_ttl: float = UPLOAD_URL_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = engagement.SandboxClock() if clock is None else clock
        self._defaults = (processing_delay, upload_url_ttl)
        self.reset()

    # --- Python-side control (same effects as the HTTP control API) ---------------------------
    def reset(self) -> None:
        with self.lock:
            self.processing_delay, self.upload_url_ttl = self._defaults
            self.token_revoked = False
            now = self.clock()
            # access token -> {"created", "expires", "revoked"}; refresh token -> {"authorized", "expires"}
            self.access_tokens: dict[str, dict[str, Any]] = {
                ACCESS_TOKEN: {"created": now, "expires": now + ACCESS_TOKEN_SECONDS, "revoked": False}
            }
            self.current_token = ACCESS_TOKEN
            self.refresh_tokens: dict[str, dict[str, float]] = {
                REFRESH_TOKEN: {"authorized": now, "expires": now + REFRESH_TOKEN_SECONDS}
            }
            self.refresh_granted = True  # the app is an MDP partner (else: no programmatic refresh)
            self.images: dict[str, dict[str, Any]] = {}
            self.uploads: dict[str, str] = {}  # upload token -> image urn
            self.post_list: list[dict[str, Any]] = []
            self._reset_control()
            self._reset_engagement()
            self._ids = id_source()  # unique across runs too (sandbox/ids.py)

    def expire_token(self) -> None:
        with self.lock:
            self.token_revoked = True
            for token in self.access_tokens.values():
                token["revoked"] = True

    def set_token_expiry(self, seconds: float) -> float:
        """The current access token expires `seconds` from now on the fake's clock (0 or less:
        already expired); returns its `expires_at`."""
        with self.lock:
            expires = self.clock() + float(seconds)
            self.access_tokens[self.current_token]["expires"] = expires
            return expires

    def set_refresh(self, granted: bool = True, expires_in: float | None = None) -> None:
        """Whether the app may refresh (`granted`: an MDP partner) and, if given, when the
        refresh token expires (seconds from now on the fake's clock)."""
        with self.lock:
            self.refresh_granted = granted
            if expires_in is not None:
                for token in self.refresh_tokens.values():
                    token["expires"] = self.clock() + float(expires_in)

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [{**self._sandbox_view(p), "deleted": self._gone(p)} for p in self.post_list]

    def add_foreign_post(self, commentary: str, author: str = STRANGER_URN) -> str:
        """A post of someone the token's member does not act for; returns its URN."""
        with self.lock:
            now_ms = int(self.clock() * 1000)
            urn = f"urn:li:share:{7_300_000_000_000_000_000 + next(self._ids)}"
            self.post_list.append(
                {
                    "id": urn,
                    "author": author,
                    "commentary": commentary,
                    "visibility": "PUBLIC",
                    "distribution": {"feedDistribution": "MAIN_FEED"},
                    "lifecycleState": "PUBLISHED",
                    "isReshareDisabledByAuthor": False,
                    "createdAt": now_ms,
                    "lastModifiedAt": now_ms,
                    "publishedAt": now_ms,
                    "_image": None,
                    **_NEW_POST_STATE,
                }
            )
            self.truth.track(urn, at=now_ms / 1000)
            return urn

    def _gone(self, post: dict[str, Any]) -> bool:
        """Deleted through the API, or through /_sandbox/delete-post."""
        return post["_deleted_at"] is not None or self.truth.live(post["id"]) is None

    # --- WSGI ---------------------------------------------------------------------------------
    def serve(self, request: Request) -> Response:
        """One API call (control.SandboxControl speaks WSGI and answers /_sandbox/*)."""
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            status = exc.code or 404
            code = "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED"
            return _json({"status": status, "code": code, "message": exc.description}, status)
        fault = self.take_fault(request.full_path)  # path_contains may match the query (q=author)
        try:
            response = control.apply_fault(
                fault, lambda: self._api(request, endpoint, args), timeout=_gateway_timeout, error=_fault_error
            )
        except _ApiError as exc:
            response = _json(exc.body(), exc.status)
        self.log_request(
            request,
            response.status_code,
            fault,
            query=control.redacted_query(request),
            path=_loggable_path(request.path),
        )
        return response

    def _api(self, request: Request, endpoint: str, args: Mapping[str, Any]) -> Response:
        if endpoint in _OAUTH_ENDPOINTS:  # client credentials in the form, no API headers
            oauth: Callable[[Request], Response] = getattr(self, "_" + endpoint)
            return oauth(request)
        if endpoint != "upload":
            self._check_headers(request)
            self._authenticate(request)
        api: Callable[..., Response] = getattr(self, "_" + endpoint)  # each endpoint takes its own URL args
        return api(request, **args)

    def _control_error(self, message: str, status: int = 400) -> Response:
        code = {400: "ILLEGAL_ARGUMENT", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "ILLEGAL_ARGUMENT")
        return _json({"status": status, "code": code, "message": message}, status)

    def _check_headers(self, request: Request) -> None:
        version = request.headers.get("Linkedin-Version")
        if not version:
            raise _ApiError(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            )
        match = _VERSION.match(version.strip())
        if not match or f"{match[1]}{match[2]}" not in active_versions(self.clock()):
            shown = f"{match[1]}{match[2]}01" if match else version.strip()
            raise _ApiError(426, "NONEXISTENT_VERSION", f"Requested version {shown} is not active")
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version: 2.0.0 is required")

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self.lock:
            found = self._find_access_token(token.strip()) if scheme.lower() == "bearer" else None
            expired = found is not None and found["expires"] <= self.clock()
        if found is None:
            raise _ApiError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        if found["revoked"]:
            raise _ApiError(
                401, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user", 65601
            )
        if expired:
            # UNCONFIRMED: code and service code ours; the message as third-party reports quote it.
            raise _ApiError(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65602)

    def _find_access_token(self, token: str) -> dict[str, Any] | None:
        return next((v for t, v in self.access_tokens.items() if hmac.compare_digest(t, token)), None)

    # --- OAuth (www.linkedin.com/oauth/v2/...) ---------------------------------------------------
    def _client(self, request: Request) -> None:
        """The app's credentials in the form: 400 for an unknown client id, 401 for a bad secret."""
        if not hmac.compare_digest(request.form.get("client_id", ""), CLIENT_ID):
            raise _OAuthError(400, "invalid_request", 'A required parameter "client_id" is missing or invalid')
        if not hmac.compare_digest(request.form.get("client_secret", ""), CLIENT_SECRET):
            raise _OAuthError(401, "invalid_client", "Client authentication failed")

    def _introspect_token(self, request: Request) -> Response:
        self._client(request)
        with self.lock:
            found = self._find_access_token(request.form.get("token", ""))
            now = self.clock()
        if found is None:
            raise _OAuthError(400, "invalid_request", "The token is not valid")
        status = "revoked" if found["revoked"] else "expired" if found["expires"] <= now else "active"
        return _json(
            {
                "active": status == "active",
                "client_id": CLIENT_ID,
                "authorized_at": int(found["created"]),
                "created_at": int(found["created"]),
                "status": status,
                "expires_at": int(found["expires"]),
                "scope": TOKEN_SCOPE,
                "auth_type": "3L",
            }
        )

    def _access_token_grant(self, request: Request) -> Response:
        if request.form.get("grant_type") != "refresh_token":
            raise _OAuthError(400, "unsupported_grant_type", "The sandbox serves the refresh_token grant only")
        self._client(request)
        with self.lock:
            now = self.clock()
            presented = request.form.get("refresh_token", "")
            grant = next((v for t, v in self.refresh_tokens.items() if hmac.compare_digest(t, presented)), None)
            if not self.refresh_granted:
                raise _OAuthError(400, "unauthorized_client", "The client is not authorized to use refresh tokens")
            if grant is None or grant["expires"] <= now:
                raise _OAuthError(
                    400,
                    "invalid_request",
                    "The provided authorization grant or refresh token is invalid, expired or revoked",
                )
            # A new access token, never outliving the refresh token, which is neither extended nor rotated.
            expires = min(now + ACCESS_TOKEN_SECONDS, grant["expires"])
            token = f"{ACCESS_TOKEN}-{secrets.token_hex(8)}"
            self.access_tokens[token] = {"created": now, "expires": expires, "revoked": False}
            self.current_token = token
        return _json(
            {
                "access_token": token,
                "expires_in": int(expires - now),
                "refresh_token": presented,
                "refresh_token_expires_in": int(grant["expires"] - now),
                "scope": TOKEN_SCOPE,
            }
        )

    @staticmethod
    def _authorize(urn: Any, method: str, path: str) -> None:
        """The token's member may act as themself or as an organization they administer."""
        if urn not in (MEMBER_URN, ORG_URN):
            raise _ApiError(403, "ACCESS_DENIED", f"Not enough permissions to access: {method} {path}", 100)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "Request body must be a JSON object")
        return body

    # --- Images API ---------------------------------------------------------------------------
    def _images_action(self, request: Request) -> Response:
        if request.args.get("action") != "initializeUpload":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "Unsupported action; use ?action=initializeUpload")
        init = self._body(request).get("initializeUploadRequest")
        owner = init.get("owner") if isinstance(init, dict) else None
        if not isinstance(owner, str) or not _URN_OWNER.match(owner):
            raise _ApiError(
                422,
                "MISSING_REQUIRED_FIELD",
                "ERROR :: /initializeUploadRequest/owner :: field is required and must be a person or organization URN",
            )
        self._authorize(owner, "POST", "/rest/images")
        token = secrets.token_urlsafe(18)
        urn = "urn:li:image:D4D10AQ" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
        expires_ms = int((self.clock() + self.upload_url_ttl) * 1000)
        with self.lock:
            self.images[urn] = {
                "urn": urn,
                "owner": owner,
                "status": "WAITING_UPLOAD",
                "upload_token": token,
                "upload_expires_ms": expires_ms,
                "facts": None,
                "uploaded_at": None,
            }
            self.uploads[token] = urn
        upload_url = f"{request.host_url.rstrip('/')}/dms-uploads/{token}"
        return _json({"value": {"uploadUrlExpiresAt": expires_ms, "uploadUrl": upload_url, "image": urn}})

    def _upload(self, request: Request, token: str) -> Response:
        with self.lock:
            urn = self.uploads.get(token)
            image = self.images.get(urn) if urn else None
        if image is None:
            raise _ApiError(404, "NOT_FOUND", "Unknown upload URL")
        if self.clock() * 1000 >= image["upload_expires_ms"]:
            raise _ApiError(403, "UPLOAD_URL_EXPIRED", "The upload URL has expired")
        if image["status"] != "WAITING_UPLOAD":
            raise _ApiError(409, "ALREADY_UPLOADED", "The image was already uploaded")
        facts = _image_facts(request.get_data())
        with self.lock:
            image["facts"] = facts
            image["uploaded_at"] = self.clock()
            image["status"] = "PROCESSING_FAILED" if "error" in facts else "PROCESSING"
        return Response(b"", status=201)

    def _image_status(self, image: dict[str, Any]) -> str:
        if image["status"] == "PROCESSING" and self.clock() - image["uploaded_at"] >= self.processing_delay:
            image["status"] = "AVAILABLE"
        status: str = image["status"]
        return status

    def _get_image(self, request: Request, urn: str) -> Response:
        with self.lock:
            image = self.images.get(urn)
            if image is None:
                raise _ApiError(404, "NOT_FOUND", f"Image {urn} does not exist")
            self._authorize(image["owner"], "GET", "/rest/images")
            status = self._image_status(image)
            body: dict[str, Any] = {"id": urn, "owner": image["owner"], "status": status}
        if status == "AVAILABLE":
            body["downloadUrl"] = f"{request.host_url.rstrip('/')}/dms/image/{urn}"
            body["downloadUrlExpiresAt"] = int((self.clock() + 3600) * 1000)
        return _json(body)

    # --- Posts API ----------------------------------------------------------------------------
    def _create_post(self, request: Request) -> Response:
        body = self._body(request)
        for field in ("author", "commentary", "visibility", "distribution", "lifecycleState"):
            if field not in body:
                raise _ApiError(
                    422,
                    "MISSING_REQUIRED_FIELD",
                    f"ERROR :: /{field} :: field is required but not found and has no default value",
                )
        author = body["author"]
        self._authorize(author, "POST", "/rest/posts")
        commentary = body["commentary"]
        if not isinstance(commentary, str):
            raise _ApiError(422, "INVALID_FIELD_VALUE", "ERROR :: /commentary :: must be a string")
        if len(commentary) > COMMENTARY_MAX:
            raise _ApiError(
                422,
                "FIELD_VALUE_TOO_LONG",
                f"ERROR :: /commentary :: length {len(commentary)} exceeds the maximum of {COMMENTARY_MAX}",
            )
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN"):
            raise _ApiError(422, "INVALID_FIELD_VALUE", f"ERROR :: /visibility :: invalid value {body['visibility']!r}")
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
            raise _ApiError(
                422, "INVALID_FIELD_VALUE", "ERROR :: /distribution/feedDistribution :: must be MAIN_FEED or NONE"
            )
        if body["lifecycleState"] not in ("PUBLISHED", "DRAFT"):
            raise _ApiError(
                422, "INVALID_FIELD_VALUE", f"ERROR :: /lifecycleState :: invalid value {body['lifecycleState']!r}"
            )
        media = (body.get("content") or {}).get("media") if isinstance(body.get("content"), dict) else None
        if body.get("content") is not None and not isinstance(media, dict):
            raise _ApiError(422, "INVALID_FIELD_VALUE", "ERROR :: /content :: only content.media is supported here")
        with self.lock:
            image = None
            if media is not None:
                image = self.images.get(media.get("id"))
                if image is None or image["owner"] != author:
                    raise _ApiError(
                        422,
                        "INVALID_FIELD_VALUE",
                        f"ERROR :: /content/media/id :: {media.get('id')!r} is not an image of the author",
                    )
                status = self._image_status(image)
                if status != "AVAILABLE":
                    raise _ApiError(
                        422,
                        "MEDIA_NOT_AVAILABLE",
                        f"ERROR :: /content/media/id :: image status is {status}, not AVAILABLE",
                    )
            now_ms = int(self.clock() * 1000)
            urn = f"urn:li:share:{7_300_000_000_000_000_000 + next(self._ids)}"
            post = {
                "id": urn,
                "author": author,
                "commentary": commentary,
                "visibility": body["visibility"],
                "distribution": distribution,
                "lifecycleState": body["lifecycleState"],
                "isReshareDisabledByAuthor": bool(body.get("isReshareDisabledByAuthor", False)),
                "createdAt": now_ms,
                "lastModifiedAt": now_ms,
                "publishedAt": now_ms,
                "_image": dict(image["facts"]) if image else None,
                **_NEW_POST_STATE,
            }
            if media is not None:
                post["content"] = {"media": {k: v for k, v in media.items() if k in ("id", "altText", "title")}}
            self.post_list.append(post)
            self.truth.track(urn, at=now_ms / 1000)
        return Response(b"", status=201, headers={"x-restli-id": urn, "Location": f"/rest/posts/{urn}"})

    @staticmethod
    def _public(post: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in post.items() if not k.startswith("_")}

    def _find_posts(self, request: Request) -> Response:
        if request.args.get("q") != "author":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "Unsupported finder; use q=author")
        if request.headers.get("X-RestLi-Method", "").upper() != "FINDER":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "A finder needs the header X-RestLi-Method: FINDER")
        author = request.args.get("author", "")
        self._authorize(author, "GET", "/rest/posts")
        try:
            count = int(request.args.get("count", 10))
            start = int(request.args.get("start", 0))
        except ValueError:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "count and start must be integers") from None
        if not 1 <= count <= 100 or start < 0:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "count must be 1..100 and start >= 0")
        sort_by = request.args.get("sortBy", "LAST_MODIFIED")
        sort_key = {"LAST_MODIFIED": "lastModifiedAt", "CREATED": "createdAt"}.get(sort_by)
        if sort_key is None:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "sortBy must be LAST_MODIFIED or CREATED")
        with self.lock:
            mine = [self._public(p) for p in self.post_list if p["author"] == author and not self._gone(p)]
        mine.sort(key=lambda p: (p[sort_key], p["id"]), reverse=True)
        page = mine[start : start + count]
        return _json({"paging": {"start": start, "count": count, "links": [], "total": len(mine)}, "elements": page})

    def _get_post(self, request: Request, urn: str) -> Response:
        with self.lock:
            post = next((p for p in self.post_list if p["id"] == urn), None)
            if post is None or self._gone(post):
                raise _ApiError(404, "NOT_FOUND", f"Post {urn} does not exist")
        self._authorize(post["author"], "GET", "/rest/posts")
        return _json(self._public(post))

    # --- edits and deletes (Posts API "Update Posts", "Delete Posts") -----------------------------
    def _update_post(self, request: Request, urn: str) -> Response:
        if request.headers.get("X-RestLi-Method", "").upper() != "PARTIAL_UPDATE":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "An update needs the header X-RestLi-Method: PARTIAL_UPDATE")
        changes = self._body(request).get("patch")
        changes = changes.get("$set") if isinstance(changes, dict) else None
        if not isinstance(changes, dict) or not changes:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", 'The body must be {"patch": {"$set": {...}}}')
        for field in changes:
            if field not in UPDATABLE_FIELDS:
                raise _ApiError(422, "FIELD_NOT_UPDATABLE", f"ERROR :: /{field} :: field cannot be updated")
        commentary = changes.get("commentary")
        if "commentary" in changes and not isinstance(commentary, str):
            raise _ApiError(422, "INVALID_FIELD_VALUE", "ERROR :: /commentary :: must be a string")
        if isinstance(commentary, str) and len(commentary) > COMMENTARY_MAX:
            raise _ApiError(
                422,
                "FIELD_VALUE_TOO_LONG",
                f"ERROR :: /commentary :: length {len(commentary)} exceeds the maximum of {COMMENTARY_MAX}",
            )
        if changes.get("lifecycleState", "PUBLISHED") not in ("PUBLISHED", "DRAFT"):
            raise _ApiError(
                422, "INVALID_FIELD_VALUE", f"ERROR :: /lifecycleState :: invalid value {changes['lifecycleState']!r}"
            )
        with self.lock:
            post = self._writable(urn, "partialUpdate", missing_ok=False)
            assert post is not None
            now_ms = int(self.clock() * 1000)
            post.update(changes)
            post["lastModifiedAt"] = now_ms
            post["_edits"] += 1
            post["_edited_at"] = now_ms
        return Response(b"", status=204)

    def _remove_post(self, request: Request, urn: str) -> Response:
        with self.lock:
            post = self._writable(urn, "delete", missing_ok=True)
            if post is not None:
                post["_deleted_at"] = int(self.clock() * 1000)
                self.truth.delete(urn)
        return Response(b"", status=204)

    def _writable(self, urn: str, verb: str, missing_ok: bool) -> dict[str, Any] | None:
        """The post `urn` if the token's member may change it; None for a deleted post when
        `missing_ok` (deletes are idempotent). Caller holds the lock."""
        post = next((p for p in self.post_list if p["id"] == urn), None)
        if post is None:
            raise _ApiError(404, "NOT_FOUND", f"Post {urn} does not exist")
        scope = "w_organization_social" if post["author"] == ORG_URN else "w_member_social"
        if post["author"] not in (MEMBER_URN, ORG_URN) or not self.truth.has(scope):
            raise _ApiError(403, "ACCESS_DENIED", f"Not enough permissions to access: {verb} /rest/posts", 100)
        if self._gone(post):
            if missing_ok:
                return None
            raise _ApiError(404, "NOT_FOUND", f"Post {urn} does not exist")
        return post

    # --- engagement reads (the truth is sandbox/engagement.py's) ----------------------------------
    def _notifies(self, post_id: str) -> bool:
        """LinkedIn's social-action webhooks are an organization's: only its posts notify."""
        with self.lock:
            return any(p["id"] == post_id and p["author"] == ORG_URN for p in self.post_list)

    def _live_post(self, urn: str) -> tuple[dict[str, Any], engagement.PostTruth]:
        with self.lock:
            post = next((p for p in self.post_list if p["id"] == urn), None)
        truth = self.truth.live(urn)
        if post is None or truth is None:
            raise _ApiError(404, "NOT_FOUND", f"Post {urn} does not exist")
        return post, truth

    def _require(self, path: str, *scopes: str) -> None:
        if not self.truth.has(*scopes):
            raise _ApiError(403, "ACCESS_DENIED", f"Not enough permissions to access: GET {path}", 100)

    def _social_counts(self, urn: str, resource: str) -> dict[str, int]:
        post, truth = self._live_post(urn)
        scope = "r_organization_social" if post["author"] == ORG_URN else "r_member_social"
        self._require(f"/rest/{resource}", scope)
        return self.truth.metrics(truth, self.clock())

    def _social_actions(self, request: Request, urn: str) -> Response:
        m = self._social_counts(urn, "socialActions")
        return _json(
            {
                "likesSummary": {
                    "totalLikes": m["likes"],
                    "aggregatedTotalLikes": m["likes"],
                    "likedByCurrentUser": False,
                    "selectedLikes": [],
                },
                "commentsSummary": {
                    "totalFirstLevelComments": m["comments"],
                    "aggregatedTotalComments": m["comments"],
                    "selectedComments": [],
                },
                "target": urn,
            }
        )

    def _social_metadata(self, request: Request, urn: str) -> Response:
        m = self._social_counts(urn, "socialMetadata")
        reactions = {"LIKE": {"reactionType": "LIKE", "count": m["likes"]}} if m["likes"] else {}
        return _json(
            {
                "reactionSummaries": reactions,
                "commentSummary": {"count": m["comments"], "topLevelCount": m["comments"]},
                "commentsState": "OPEN",
                "entity": urn,
            }
        )

    def _share_statistics(self, request: Request) -> Response:
        args = request.args
        if args.get("q") != "organizationalEntity":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "Unsupported finder; use q=organizationalEntity")
        if "timeIntervals" in args:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "The sandbox serves lifetime totals only (no timeIntervals)")
        org = args.get("organizationalEntity", "")
        self._require("/rest/organizationalEntityShareStatistics", "rw_organization_admin")
        if org != ORG_URN:
            raise _ApiError(
                403,
                "ACCESS_DENIED",
                "Not enough permissions to access: GET /rest/organizationalEntityShareStatistics",
                100,
            )
        asked: list[tuple[str, str]] = []
        for param, kind in (("shares", "share"), ("ugcPosts", "ugcPost")):
            if param not in args:
                continue
            match = re.fullmatch(r"List\((.*)\)", args[param])
            urns = [u.strip() for u in match.group(1).split(",") if u.strip()] if match else []
            if not match or any(not u.startswith(f"urn:li:{kind}:") for u in urns):
                raise _ApiError(
                    403,
                    "ACCESS_DENIED",
                    "Unpermitted fields present in PARAMETER: Data Processing Exception while processing fields "
                    f"[/{param}]",
                    100,
                )
            asked += [(kind, u) for u in urns]
        now = self.clock()
        with self.lock:
            own = {p["id"] for p in self.post_list if p["author"] == ORG_URN}
        if not asked:
            totals = dict.fromkeys(("likes", "comments", "shares", "saves", "views", "reach", "clicks"), 0)
            for urn in own:
                truth = self.truth.live(urn)
                if truth is not None:
                    totals = {k: v + self.truth.metrics(truth, now)[k] for k, v in totals.items()}
            elements = [{"totalShareStatistics": _share_stats(totals), "organizationalEntity": org}]
        else:
            elements = []
            for kind, urn in asked:
                truth = self.truth.live(urn)
                if urn in own and truth is not None:
                    stats = _share_stats(self.truth.metrics(truth, now))
                    elements.append({"totalShareStatistics": stats, "organizationalEntity": org, kind: urn})
        return _json({"paging": {"start": 0, "count": 10, "links": []}, "elements": elements})

    def _member_post_analytics(self, request: Request) -> Response:
        args = request.args
        if args.get("q") != "entity":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "Unsupported finder; the sandbox serves q=entity")
        match = re.fullmatch(r"\((?:share|ugc|ugcPost):(urn:li:(?:share|ugcPost):[^)]+)\)", args.get("entity", ""))
        if not match:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "entity must be (share:<share urn>) or (ugc:<ugcPost urn>)")
        query_type = args.get("queryType", "")
        if query_type not in _MEMBER_QUERY_TYPES:
            raise _ApiError(400, "ILLEGAL_ARGUMENT", f"queryType must be one of {', '.join(_MEMBER_QUERY_TYPES)}")
        if args.get("aggregation", "TOTAL") != "TOTAL":
            raise _ApiError(400, "ILLEGAL_ARGUMENT", "The sandbox serves aggregation=TOTAL only")
        self._require("/rest/memberCreatorPostAnalytics", "r_member_postAnalytics")
        post, truth = self._live_post(match.group(1))
        if post["author"] != MEMBER_URN:
            raise _ApiError(
                403, "ACCESS_DENIED", "Not enough permissions to access: GET /rest/memberCreatorPostAnalytics", 100
            )
        count = self.truth.metrics(truth, self.clock())[_MEMBER_QUERY_TYPES[query_type]]
        element = {"count": count, "metricType": {_METRIC_TYPE_UNION: query_type}}
        return _json({"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]})

    # --- control API (the common endpoints are control.SandboxControl's) -------------------
    def _ctl_token_expiry(self, body: dict[str, Any], request: Request) -> Response:
        seconds = body.get("expires_in")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            return self._control_error("expires_in must be a number of seconds")
        return _json({"expires_at": self.set_token_expiry(seconds)})

    @staticmethod
    def _sandbox_view(post: dict[str, Any]) -> dict[str, Any]:
        """A post as /_sandbox/posts shows it (`deleted` is added by `posts()`)."""
        media = (post.get("content") or {}).get("media") or {}
        facts = post.get("_image") or {}
        return {
            "id": post["id"],
            "author": post["author"],
            "commentary": post["commentary"],
            "text": post["commentary"],
            "alt_text": media.get("altText"),
            "title": media.get("title"),
            "image_urn": media.get("id"),
            "visibility": post["visibility"],
            "lifecycle_state": post["lifecycleState"],
            "created_at": post["createdAt"],
            "last_modified_at": post["lastModifiedAt"],
            "edits": post["_edits"],
            "edited_at": post["_edited_at"],
            "deleted_at": post["_deleted_at"],
            "image": (
                {k: facts.get(k) for k in ("width", "height", "bytes", "format", "has_exif_gps")} if facts else None
            ),
        }


def _gateway_timeout(fault: control.Fault) -> Response:
    raise _ApiError(504, "GATEWAY_TIMEOUT", "Gateway Timeout")


# The fake's own state of a new post (epoch ms), kept out of the API's answers (`_public`).
_NEW_POST_STATE: dict[str, Any] = {"_edits": 0, "_edited_at": None, "_deleted_at": None}


# memberCreatorPostAnalytics queryType -> the truth's metric
_MEMBER_QUERY_TYPES = {
    "IMPRESSION": "views",
    "MEMBERS_REACHED": "reach",
    "RESHARE": "shares",
    "REACTION": "likes",
    "COMMENT": "comments",
    "POST_SAVE": "saves",
}
_METRIC_TYPE_UNION = "com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1"  # UNCONFIRMED


def _share_stats(m: dict[str, int]) -> dict[str, Any]:
    engaged = m["clicks"] + m["likes"] + m["comments"] + m["shares"]
    return {
        "uniqueImpressionsCount": m["reach"],
        "shareCount": m["shares"],
        "engagement": engaged / m["views"] if m["views"] else 0.0,
        "clickCount": m["clicks"],
        "likeCount": m["likes"],
        "impressionCount": m["views"],
        "commentCount": m["comments"],
    }


def _fault_error(fault: control.Fault) -> Response:
    if fault.kind == "500":
        raise _ApiError(500, "INTERNAL_SERVER_ERROR", "Internal Server Error")
    scope = " APPLICATION DAY" if fault.options.get("daily") else ""
    raise _ApiError(
        429, "TOO_MANY_REQUESTS", f"Resource level throttle{scope} limit for calls to this resource is reached.", 101
    )


def _loggable_path(path: str) -> str:
    """The upload URL's last segment is its credential (pre-signed): not for the request log."""
    return re.sub(r"^/dms-uploads/.+", "/dms-uploads/[REDACTED]", path)
