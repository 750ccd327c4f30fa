"""A fake of the X API v2 parts SocialOmega uses (werkzeug WSGI app, thread-safe, one lock).

Shapes follow `openapi.json` v2.167 of xdevplatform/docs (../shared/reference/specs) and
docs.x.com; where those are silent the choice is marked UNCONFIRMED below.

API (base URL = the fake's root; the real one is https://api.x.com):
  POST /2/oauth2/token     form `grant_type=refresh_token&refresh_token=..[&client_id=..]`,
                           confidential client: `Authorization: Basic base64(client_id:secret)`.
                           -> 200 `{"token_type":"bearer","expires_in":7200,"access_token",
                           "scope","refresh_token"}`. Refresh tokens ROTATE: the one used stops
                           working; reusing it (or any unknown/revoked one) -> 400
                           `{"error":"invalid_request","error_description":"Value passed for the
                           token was invalid."}`; bad client auth -> 401 `unauthorized_client`.
  POST /2/media/upload     multipart `media` + `media_category` (one-shot, images) -> 200
                           `{"data":{"id","media_key","size","expires_after_secs","image":{..}}}`
  GET  /2/media/upload?media_id=&command=STATUS -> the same `data` (+ processing_info)
  POST /2/media/upload/initialize  JSON `{media_type, total_bytes, media_category}` ->
                           `{"data":{"id","media_key","expires_after_secs"}}`
  POST /2/media/upload/<id>/append multipart `media` + `segment_index` (0..999) ->
                           `{"data":{"expires_at": epoch}}`
  POST /2/media/upload/<id>/finalize -> like one-shot; the appended bytes must add up to
                           `total_bytes`. With `processing_polls=n` (control) it answers
                           `processing_info: {state: "pending", check_after_secs: 1}` and STATUS
                           reports `in_progress` n-1 times, then `succeeded`.
  POST /2/media/metadata   JSON `{"id", "metadata": {"alt_text": {"text" (<= 1000)}}}` ->
                           `{"data":{"id","associated_metadata":{...}}}`
  POST /2/tweets           JSON `{"text", "media": {"media_ids": [1..4]}}` -> 201
                           `{"data":{"id","text","edit_history_post_ids":[id]}}`
  DELETE /2/tweets/<id>    -> 200 `{"data":{"deleted":true}}` (openapi `deletePosts`,
                           `DeletePostsResponse`); scopes `tweet.read tweet.write users.read`
                           (and the grant `tweet.write`, /_sandbox/permissions); 50 per 15
                           minutes per user (rate-limits.mdx). The post is gone: left out of the
                           timeline, the lookup answers "Not Found Error", and its text may be
                           posted again (the duplicate check skips it). UNCONFIRMED, chosen:
                           an unknown or already deleted id -> 404 problem
                           `{"title":"Not Found Error","detail":"Could not find tweet with id:
                           [<id>].","type":".../problems/resource-not-found","status":404}`;
                           another account's post (`add_foreign_post`) -> 403 `{"title":
                           "Forbidden","detail":"You are not allowed to delete a Tweet of another
                           user.","type":"about:blank","status":403}`; an id that is not 1-19
                           digits -> 400 invalid-request. /_sandbox/posts shows `deleted`,
                           `deleted_at`.
  POST /2/tweets with `edit_options` (an edit, openapi `CreatePostsEditOptions`): editing needs X
                           Premium (changelog, 3 Oct 2025), which the sandbox account does not
                           have -> 403 `{"title":"Forbidden","detail":"You are not permitted to
                           edit this Post.","type":"about:blank","status":403}` (body UNCONFIRMED).
  GET  /2/users/me         `{"data":{"id","name","username"}}`
  GET  /2/users/<id>/tweets  newest first; `max_results` 5..100, `pagination_token`,
                           `start_time`/`end_time` (RFC 3339), `since_id`, `until_id`,
                           `tweet.fields` (or `post.fields`, see below) with `created_at` and
                           `attachments`, `expansions=attachments.media_keys` (-> `includes.media`
                           and `attachments` on each post). `meta.next_token` when more remain.
Auth: `Authorization: Bearer <access token>`; scopes per the spec's security requirements:
  media endpoints `media.write`; POST /2/tweets `tweet.write users.read tweet.read`; users
  endpoints `tweet.read users.read`. Missing/unknown/expired token -> 401
  `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`;
  token without the scope -> 403 `{"title":"Forbidden",...,"status":403}`.
Every /2 response (but the token endpoint) carries `x-rate-limit-limit`, `-remaining` and
`-reset` (epoch seconds) for a 15-minute window per endpoint (limits from
x-api/fundamentals/rate-limits.mdx).
Errors:
  validation -> 400 problem `{"errors":[{"parameters":{<name>:[<value>]},"message"}],
    "title":"Invalid Request","detail":"One or more parameters to your request was invalid.",
    "type":"https://api.x.com/2/problems/invalid-request"}` (unknown query parameters, bad
    media, > 4 or unknown/expired media ids: "Your media IDs are invalid.", text too long).
  duplicate text (same text as one of the account's posts of the last 24 h) -> 403
    `{"detail":"You are not allowed to create a Tweet with duplicate content.",
    "type":"about:blank","title":"Forbidden","status":403}` (captured in akrherz/iembot#163).
  rate limit (fault "429") -> 429 `{"title":"Too Many Requests","detail":"Too Many Requests",
    "type":"about:blank","status":429}` with `x-rate-limit-remaining: 0` and the reset time.
  daily post cap (X free tier: 17 posts / 24 h per user; `daily_cap`, default 17) -> the same
    429 body plus `x-user-limit-24hour-limit`, `-remaining: 0` and `-reset` (epoch seconds).
  500 fault -> 500 problem `internal-error`.

UNCONFIRMED choices (the fake and the publisher agree on them):
  * Text too long: 400 invalid-request with message "Your Tweet text is too long." (the v2
    docs do not show the exact body). Length is X's weighted length, counted by this fake's own
    `weighted_length` (twitter-text v3 rules; never the publisher's code it checks).
  * Daily cap: X answers 429 with the x-user-limit-24hour-* headers (seen in client logs and
    issue threads), not a usage-capped problem; the `usage-capped` problem is X's monthly
    product cap. Both classify as "deferred" (platforms/x/errors.py).
  * `post.fields` vs `tweet.fields`: the spec's PostFieldsParameter is named `post.fields`
    while the docs and the spec's other operations say `tweet.fields`; both are accepted.
  * Finalizing an already finalized media id answers its data again (idempotent).
  * Images: JPEG/PNG/GIF/WEBP, <= 5 MB (x-api/media/introduction.mdx); media ids expire after
    `expires_after_secs` (86400 here).

Control API (sandbox only, no auth):
  POST   /_sandbox/faults   {"kind": "500"|"429"|"timeout"|"slow_accept", "count": 1,
                             "retry_after": 1, "delay": s, "path_contains": "...", "skip": 0}
                            (`skip`: let that many matching calls pass first)
  GET/DELETE /_sandbox/faults
  POST   /_sandbox/expire-token     every issued access token stops working (401); refresh works
  POST   /_sandbox/revoke-refresh   every refresh token stops working (400 invalid_request)
  POST   /_sandbox/daily-cap        {"cap": n}
  POST   /_sandbox/processing       {"polls": n} finalize answers processing_info, n STATUS polls
  POST   /_sandbox/expire-media     every uploaded media id expires
  GET    /_sandbox/posts            posts created, oldest first, with text, alt text, image facts
  GET    /_sandbox/requests         method, path, status, fault (no credentials)
  POST   /_sandbox/reset
Engagement reads (answered from the engagement truth, sandbox/engagement.py):
  GET  /2/tweets?ids=<1..100 ids>&tweet.fields=public_metrics,non_public_metrics,organic_metrics,
       created_at,author_id   (user token with `tweet.read users.read`; x-rate-limit-* headers,
       5,000 per 15 minutes per user: x-api/fundamentals/rate-limits.mdx)
       -> 200 {"data": [{"id", "text", "edit_history_tweet_ids", "created_at"?, "author_id"?,
       "public_metrics": {"retweet_count", "repost_count", "reply_count", "like_count",
       "quote_count", "bookmark_count", "impression_count"}, "non_public_metrics":
       {"impression_count", "url_link_clicks", "user_profile_clicks", "engagements"},
       "organic_metrics": {"impression_count", "like_count", "reply_count", "retweet_count",
       "url_link_clicks", "user_profile_clicks"}}], "errors"?: [...]} (metrics.mdx; both
       `retweet_count` (metrics.mdx) and `repost_count` (openapi since Aug 2026) are sent: CONFLICT).
       Mapping: likes -> like_count, comments -> reply_count, shares -> retweet/repost_count
       (quote_count 0: the truth has no quotes), saves -> bookmark_count, views ->
       impression_count, clicks = url_link_clicks + user_profile_clicks (a third of the clicks
       are profile clicks), engagements = likes + comments + shares + saves + clicks (ours).
       Non-public and organic metrics "are only available for Posts created within the last 30
       days" and for the owner's posts (metrics.mdx): otherwise the post is left out of `data`
       and `errors[]` gets {"value", "detail", "title": "Field Authorization Error",
       "resource_type": "tweet", "parameter": "tweet.fields", "resource_id", "section": "data",
       "field", "type": ".../problems/not-authorized-for-field"} per field group (shape from a
       captured `includes` error, node-twitter-api-v2#432; for `data` UNCONFIRMED).
       `promoted_metrics` always gets that error (no post here is promoted).
       Deleted (/_sandbox/delete-post) or unknown ids -> `errors[]` {"value", "detail": "Could not
       find tweet with ids: [<id>].", "title": "Not Found Error", "resource_type": "tweet",
       "parameter": "ids", "resource_id", "type": ".../problems/resource-not-found"}.
       Revoking `tweet.read` or `users.read` (/_sandbox/permissions) -> 403 Forbidden.
  `add_foreign_post(text)` makes a post of another account (no non-public metrics for it).
Python-side helpers on XFake: fail_next(kind, count=1, retry_after=, delay=, path_contains=,
skip=), posts(), expire_token(), revoke_refresh(), set_daily_cap(n), set_processing_polls(n),
expire_media(), issue_token(scopes) (a token with other scopes), request_log(), reset().
Module functions: sandbox_secret() (the secret JSON XPublisher reads) and
sandbox_target(base_url, name) (a target entry pointing XPublisher here).
None of the credentials here is a secret: they are fixed sandbox values.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import io
import json
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from PIL import Image
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import control, engagement
from socialomega.sandbox.ids import id_source

CLIENT_ID = "sandbox-x-client"
CLIENT_SECRET = "sandbox-x-client-secret"
ACCESS_TOKEN = "sandbox-x-access-token-0"
REFRESH_TOKEN = "sandbox-x-refresh-token-0"
USER_ID = "1790000000000000001"
USERNAME = "socialomega_sandbox"
SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
TOKEN_TTL = 7200  # X: access tokens last two hours
MEDIA_TTL = 86400
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
MEDIA_CATEGORIES = {"tweet_image", "tweet_video", "tweet_gif", "dm_image", "dm_video", "dm_gif", "subtitles"}
INIT_MEDIA_TYPES = {
    "video/mp4",
    "video/webm",
    "video/mp2t",
    "video/quicktime",
    "text/srt",
    "text/vtt",
    "image/jpeg",
    "image/gif",
    "image/bmp",
    "image/png",
    "image/webp",
    "image/pjpeg",
    "image/tiff",
    "model/gltf-binary",
    "model/vnd.usdz+zip",
}
DAILY_CAP = 17  # free tier, posts per user per 24 h
PROBLEMS = "https://api.x.com/2/problems/"
TIMELINE_PARAMS = {
    "max_results",
    "pagination_token",
    "start_time",
    "end_time",
    "since_id",
    "until_id",
    "exclude",
    "tweet.fields",
    "post.fields",
    "expansions",
    "media.fields",
    "user.fields",
    "poll.fields",
    "place.fields",
}
# (limit per 15 minutes per user), x-api/fundamentals/rate-limits.mdx
RATE_LIMITS = {
    "media_upload": 500,
    "media_chunked": 1875,
    "media_status": 1875,
    "media_metadata": 500,
    "create_post": 100,
    "users_me": 75,
    "user_posts": 900,
    "lookup_posts": 5000,
    "delete_tweet": 50,
}

_ROUTES = Map(
    [
        Rule("/2/oauth2/token", endpoint="token", methods=["POST"]),
        Rule("/2/media/upload", endpoint="media_upload", methods=["POST"]),
        Rule("/2/media/upload", endpoint="media_status", methods=["GET"]),
        Rule("/2/media/upload/initialize", endpoint="media_initialize", methods=["POST"]),
        Rule("/2/media/upload/<media_id>/append", endpoint="media_append", methods=["POST"]),
        Rule("/2/media/upload/<media_id>/finalize", endpoint="media_finalize", methods=["POST"]),
        Rule("/2/media/metadata", endpoint="media_metadata", methods=["POST"]),
        Rule("/2/tweets", endpoint="create_post", methods=["POST"]),
        Rule("/2/tweets", endpoint="lookup_posts", methods=["GET"]),
        Rule("/2/tweets/<post_id>", endpoint="delete_tweet", methods=["DELETE"]),
        Rule("/2/users/me", endpoint="users_me", methods=["GET"]),
        Rule("/2/users/<user_id>/tweets", endpoint="user_posts", methods=["GET"]),
    ]
)


def sandbox_secret() -> dict[str, Any]:
    """The target's secret as stored in Secrets Manager (the keys XPublisher reads)."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "access_token": ACCESS_TOKEN,
        "refresh_token": REFRESH_TOKEN,
        "expires_at": int(time.time()) + TOKEN_TTL,
    }


def sandbox_target(base_url: str, name: str) -> dict[str, Any]:
    """A complete target entry pointing XPublisher at this fake."""
    return {
        "name": name,
        "platform": "x",
        "spec": {},
        "api_base_url": base_url.rstrip("/"),
        "allow_private_network": True,
        "timeout_seconds": 3,
    }


# --- X's weighted text length (twitter-text v3) -----------------------------------------------------
# The fake's own count, written apart from the publisher's `captions.x_weighted_length` on purpose:
# a fake that reused it could never catch its bugs (tests/unit/test_x_text_length.py compares them).
# Rules: NFC first; code points in _LIGHT_RANGES weigh 1, every other one 2; a URL weighs 23 (t.co)
# unless it is longer than 4,096 characters counting the "https://" X adds to one without a scheme,
# then it is plain text. URLs, simplified from twitter-text's extractor:
#   * `http://` or `https://` (any case) and at least one character up to the next whitespace, or
#     a bare domain (`label.label.tld`, tld from _TLDS, not followed by an ASCII letter or digit,
#     `-` or `@`) with an optional `/path` up to the next whitespace;
#   * not right after an ASCII letter or digit, `@`, `$` or `#` (no links inside words, e-mail
#     addresses, mentions, cashtags or hashtags), a bare domain not after `-`, `_`, `.` or `/`;
#   * trailing punctuation is not part of a URL (`https://a.com/x.` ends before the dot), but a
#     `)` that closes a `(` of the URL is.
MAX_WEIGHTED_LENGTH = 280
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL_WEIGHT = 23
_MAX_URL_CHARS = 4096
_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "info",
        "biz",
        "io",
        "co",
        "me",
        "ly",
        "app",
        "dev",
        "ai",
        "tv",
        "photo",
        "photography",
        "blog",
        "de",
        "uk",
        "fr",
        "nl",
        "es",
        "it",
        "eu",
        "ch",
        "at",
        "be",
        "se",
        "no",
        "dk",
        "fi",
        "pl",
        "jp",
        "cn",
        "kr",
        "in",
        "au",
        "ca",
        "us",
        "br",
    ]
)


def weighted_length(text: str) -> int:
    """How long X counts `text` (see the rules above)."""
    text = unicodedata.normalize("NFC", text)
    total, i = 0, 0
    while i < len(text):
        end, is_url = _url_at(text, i)
        if is_url:
            total += _URL_WEIGHT
        else:
            for char in text[i:end]:
                total += 1 if any(lo <= ord(char) <= hi for lo, hi in _LIGHT_RANGES) else 2
        i = end
    return total


def _url_at(text: str, i: int) -> tuple[int, bool]:
    """(end, True) for a URL starting at text[i]; (end, False) for a URL too long to link, which
    is plain text through `end`; (i + 1, False) when no URL starts there."""
    before = text[i - 1] if i else " "
    if _ascii_alnum(before) or before in "@$#＠＃":
        return i + 1, False
    head = text[i : i + 8].lower()
    scheme = next((p for p in ("https://", "http://") if head.startswith(p)), "")
    if scheme:
        end = _trim(text, i, _next_space(text, i))
        if end - i == len(scheme):  # nothing after the scheme
            return i + 1, False
    else:
        domain_end = _domain_end(text, i) if before not in "-_./" else None
        if domain_end is None:
            return i + 1, False
        end = domain_end
        if end < len(text) and text[end] == "/":
            end = _trim(text, i, _next_space(text, end))
    return end, (end - i) + (0 if scheme else len("https://")) <= _MAX_URL_CHARS


def _ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _next_space(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


def _trim(text: str, start: int, end: int) -> int:
    """Drop trailing punctuation from text[start:end], keeping a `)` that closes a `(`."""
    opened, closed = text.count("(", start, end), text.count(")", start, end)
    while end > start:
        last = text[end - 1]
        if last.isalnum() or last in "/=_#+-" or (last == ")" and opened >= closed):
            break
        opened -= last == "("
        closed -= last == ")"
        end -= 1
    return end


def _domain_end(text: str, i: int) -> int | None:
    """End of the longest `label(.label)*.tld` starting at text[i], or None."""
    labels, start, best = 0, i, None
    while True:
        end = start
        while end < len(text) and (_ascii_alnum(text[end]) or text[end] == "-"):
            end += 1
        if end == start:
            return best
        labels += 1
        after = text[end] if end < len(text) else " "
        if labels >= 2 and text[start:end].lower() in _TLDS and not _ascii_alnum(after) and after not in "-@":
            best = end
        if after != ".":
            return best
        start = end + 1


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        super().__init__(str(body))
        self.status, self.body, self.headers, self.content_type = status, body, headers or {}, content_type


def _problem(status: int, title: str, detail: str) -> _ApiError:
    return _ApiError(
        status,
        {"title": title, "detail": detail, "type": "about:blank", "status": status},
        content_type="application/problem+json",
    )


def _invalid(message: str, parameter: str | None = None, value: Any = None) -> _ApiError:
    error: dict[str, Any] = {"message": message}
    if parameter is not None:
        error["parameters"] = {parameter: [value if isinstance(value, str) else json.dumps(value)]}
    return _ApiError(
        400,
        {
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def _unauthorized() -> _ApiError:
    return _problem(401, "Unauthorized", "Unauthorized")


@dataclass
class _Media:
    id: str
    key: str
    category: str
    created: float
    expires: float
    total_bytes: int | None = None  # chunked uploads
    media_type: str | None = None
    segments: dict[int, bytes] = field(default_factory=dict)
    data: bytes | None = None  # set when uploaded / finalized
    facts: dict[str, Any] = field(default_factory=dict)
    alt_text: str | None = None
    polls_left: int = 0


def _json(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, content_type: str = "application/json"
) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type=content_type)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def _parse_time(value: str, name: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(
            f"Invalid '{name}': '{value}'. '{name}' must be a date-time (YYYY-MM-DDTHH:mm:ssZ).", name, value
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class XFake(control.SandboxControl, engagement.EngagementControl):
    """The WSGI app; state is reachable for in-process tests. fail_next (with `skip`),
    request_log and the common /_sandbox endpoints come from `control.SandboxControl`."""

    EXTRA_CONTROL = {
        ("POST", "/_sandbox/revoke-refresh"): "_ctl_revoke_refresh",
        ("POST", "/_sandbox/daily-cap"): "_ctl_daily_cap",
        ("POST", "/_sandbox/processing"): "_ctl_processing",
        ("POST", "/_sandbox/expire-media"): "_ctl_expire_media",
        **engagement.CONTROL_ROUTES,
    }
    PLATFORM = "x"
    DEFAULT_GRANTS = frozenset(SCOPES)

    def __init__(
        self, daily_cap: int = DAILY_CAP, token_ttl: int = TOKEN_TTL, media_ttl: int = MEDIA_TTL, clock: Any = None
    ) -> None:
        self.lock = threading.RLock()
        self._defaults = (daily_cap, token_ttl, media_ttl)
        # Engagement, insights and post ages only (engagement.py); tokens and media stay on wall time.
        self.clock = engagement.SandboxClock() if clock is None else clock
        self.reset()

    # --- Python-side control helpers (same effects as /_sandbox) --------------------------------
    def reset(self) -> None:
        with self.lock:
            self.daily_cap, self.token_ttl, self.media_ttl = self._defaults
            now = time.time()
            # token -> (expires epoch, scopes)
            self.access_tokens: dict[str, tuple[float, set[str]]] = {ACCESS_TOKEN: (now + self.token_ttl, set(SCOPES))}
            self.refresh_tokens: dict[str, set[str]] = {REFRESH_TOKEN: set(SCOPES)}
            self.used_refresh_tokens: set[str] = set()
            self.media: dict[str, _Media] = {}
            self.post_list: list[dict[str, Any]] = []
            self.foreign_posts: list[dict[str, Any]] = []  # other accounts' posts (add_foreign_post)
            self._reset_control()
            self._reset_engagement()
            self.windows: dict[str, tuple[float, int]] = {}
            self.processing_polls = 0
            self._ids = id_source()  # unique across runs too (sandbox/ids.py)

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(json.dumps({**p, "deleted": self._gone(p)})) for p in self.post_list]

    def _gone(self, post: dict[str, Any]) -> bool:
        """Deleted through the API, or through /_sandbox/delete-post."""
        return post["deleted_at"] is not None or self.truth.live(post["id"]) is None

    def expire_token(self) -> None:
        with self.lock:
            self.access_tokens = {t: (0.0, scopes) for t, (_e, scopes) in self.access_tokens.items()}

    def revoke_refresh(self) -> None:
        with self.lock:
            self.used_refresh_tokens |= set(self.refresh_tokens)
            self.refresh_tokens.clear()

    def set_daily_cap(self, cap: int) -> None:
        with self.lock:
            self.daily_cap = int(cap)

    def set_processing_polls(self, polls: int) -> None:
        with self.lock:
            self.processing_polls = int(polls)

    def expire_media(self) -> None:
        with self.lock:
            for media in self.media.values():
                media.expires = 0.0

    def issue_token(self, scopes: set[str] | tuple[str, ...] = SCOPES, ttl: float | None = None) -> str:
        """An extra access token (e.g. with fewer scopes) for fake-faithfulness tests."""
        token = "sbx-at-" + secrets.token_urlsafe(18)
        with self.lock:
            self.access_tokens[token] = (time.time() + (self.token_ttl if ttl is None else ttl), set(scopes))
        return token

    # --- WSGI -----------------------------------------------------------------------------------
    def serve(self, request: Request) -> Response:
        """One API call (control.SandboxControl speaks WSGI and answers /_sandbox/*)."""
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            code = exc.code or 404
            body = {
                "title": "Not Found Error" if code == 404 else "Method Not Allowed",
                "detail": f"Sorry, that page does not exist: {request.method} {request.path}",
                "type": "about:blank",
                "status": code,
            }
            return _json(body, code, content_type="application/problem+json")
        fault = self.take_fault(request.path) if request.path.startswith("/2/") else None
        # "500"/"429" are answered by _dispatch too: after the rate-limit window counts the call
        response = control.apply_fault(
            fault,
            lambda: self._dispatch(endpoint, args, request, None),
            timeout=_gateway_timeout,
            error=lambda f: self._dispatch(endpoint, args, request, f),
        )
        self.log_request(request, response.status_code, fault, at=_iso(time.time()))
        return response

    def _dispatch(
        self, endpoint: str, args: Mapping[str, Any], request: Request, fault: control.Fault | None
    ) -> Response:
        bucket = (
            None
            if endpoint == "token"
            else ("media_chunked" if endpoint in ("media_initialize", "media_append", "media_finalize") else endpoint)
        )
        headers: dict[str, str] = {}
        try:
            if bucket is not None:
                headers = self._count(bucket)
            if fault is not None and fault.kind == "429":
                headers.update(
                    {
                        "x-rate-limit-remaining": "0",
                        "x-rate-limit-reset": str(int(time.time()) + int(fault.retry_after)),
                    }
                )
                raise _problem(429, "Too Many Requests", "Too Many Requests")
            if fault is not None and fault.kind == "500":
                raise _ApiError(
                    500,
                    {
                        "title": "Internal Error",
                        "detail": "Something went wrong. Please try again.",
                        "type": PROBLEMS + "internal-error",
                    },
                    content_type="application/problem+json",
                )
            api: Callable[..., Response] = getattr(self, "_" + endpoint)  # each endpoint takes its own URL args
            response = api(request, **args)
        except _ApiError as exc:
            response = _json(exc.body, exc.status, exc.headers, exc.content_type)
        except HTTPException as exc:  # werkzeug's form parser
            response = _json(
                {
                    "title": "Invalid Request",
                    "detail": exc.description or "Bad request",
                    "type": PROBLEMS + "invalid-request",
                },
                exc.code or 400,
                content_type="application/problem+json",
            )
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    def _count(self, bucket: str) -> dict[str, str]:
        limit = RATE_LIMITS[bucket]
        now = time.time()
        with self.lock:
            start, used = self.windows.get(bucket, (now, 0))
            if now - start >= 900:
                start, used = now, 0
            used += 1
            self.windows[bucket] = (start, used)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str(int(start + 900)),
        }

    # --- auth -------------------------------------------------------------------------------------
    def _authenticate(self, request: Request, *scopes: str) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized()
        with self.lock:
            issued = self.access_tokens.get(token.strip())
        if issued is None or issued[0] <= time.time():
            raise _unauthorized()
        if not set(scopes) <= issued[1]:
            raise _problem(403, "Forbidden", "Forbidden")

    def _token(self, request: Request) -> Response:
        no_store = {"Cache-Control": "no-store"}
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or not (
                hmac.compare_digest(auth.username or "", CLIENT_ID)
                and hmac.compare_digest(auth.password or "", CLIENT_SECRET)
            )
        ):
            return _json(
                {"error": "unauthorized_client", "error_description": "Missing valid authorization header"},
                401,
                no_store,
            )
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return _json(
                {
                    "error": "invalid_request",
                    "error_description": "Missing required parameter [grant_type]."
                    if not form.get("grant_type")
                    else "Value passed for the grant type was invalid.",
                },
                400,
                no_store,
            )
        old = form.get("refresh_token") or ""
        with self.lock:
            scopes = self.refresh_tokens.pop(old, None)
            if scopes is None:
                return _json(
                    {"error": "invalid_request", "error_description": "Value passed for the token was invalid."},
                    400,
                    no_store,
                )
            self.used_refresh_tokens.add(old)
            access = "sbx-at-" + secrets.token_urlsafe(24)
            refresh = "sbx-rt-" + secrets.token_urlsafe(24)
            self.access_tokens[access] = (time.time() + self.token_ttl, set(scopes))
            self.refresh_tokens[refresh] = scopes
            ttl = self.token_ttl
        return _json(
            {
                "token_type": "bearer",
                "expires_in": ttl,
                "access_token": access,
                "scope": " ".join(sorted(scopes)),
                "refresh_token": refresh,
            },
            200,
            no_store,
        )

    # --- media ------------------------------------------------------------------------------------
    def _new_media(self, category: str, **extra: Any) -> _Media:
        with self.lock:
            number = next(self._ids)
            media_id = str(1_860_000_000_000_000_000 + number)
            now = time.time()
            media = _Media(
                id=media_id, key=f"3_{media_id}", category=category, created=now, expires=now + self.media_ttl, **extra
            )
            self.media[media_id] = media
            return media

    def _image_facts(self, data: bytes, category: str) -> dict[str, Any]:
        if len(data) > MAX_IMAGE_BYTES and category == "tweet_image":
            raise _invalid(f"File size exceeds {MAX_IMAGE_BYTES} bytes.", "media", f"{len(data)} bytes")
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                fmt = img.format or ""
                width, height = img.size
                exif = img.getexif()
                has_gps = bool(exif.get_ifd(0x8825)) if exif else False
        except Exception:
            raise _invalid("media type unrecognized.", "media", "unrecognized") from None
        if fmt not in IMAGE_FORMATS:
            raise _invalid(
                f"Unsupported media type {fmt or 'unknown'}: images must be JPG, PNG, GIF or WEBP.", "media", fmt
            )
        return {"image_type": IMAGE_FORMATS[fmt], "w": width, "h": height, "bytes": len(data), "has_exif_gps": has_gps}

    def _media_data(self, media: _Media) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": media.id,
            "media_key": media.key,
            "size": len(media.data or b""),
            "expires_after_secs": max(0, int(media.expires - time.time())),
        }
        if media.facts:
            data["image"] = {k: media.facts[k] for k in ("image_type", "w", "h")}
        return data

    def _media_part(self, request: Request) -> bytes:
        part = request.files.get("media")
        if part is not None:
            data: bytes = part.read()
            return data
        if "media" in request.form:  # base64 in a form field
            try:
                return base64.b64decode(request.form["media"], validate=True)
            except binascii.Error:
                raise _invalid("media is not valid base64.", "media", "...") from None
        raise _invalid("The `media` field is required.", "media", None)

    def _media_upload(self, request: Request) -> Response:
        self._authenticate(request, "media.write")
        if request.mimetype == "application/json":
            body = request.get_json(silent=True) or {}
            category = body.get("media_category")
            try:
                data = base64.b64decode(body.get("media") or "", validate=True)
            except binascii.Error:
                raise _invalid("media is not valid base64.", "media", "...") from None
        else:
            category = request.form.get("media_category")
            data = self._media_part(request)
        if category not in MEDIA_CATEGORIES:
            raise _invalid(
                "media_category must be one of " + ", ".join(sorted(MEDIA_CATEGORIES)) + ".", "media_category", category
            )
        facts = self._image_facts(data, category)
        media = self._new_media(category)
        with self.lock:
            media.data, media.facts = data, facts
            return _json({"data": self._media_data(media)})

    def _media_initialize(self, request: Request) -> Response:
        self._authenticate(request, "media.write")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise _invalid("Request body must be a JSON object.")
        unknown = set(body) - {"media_type", "total_bytes", "media_category", "additional_owners", "shared"}
        if unknown:
            raise _invalid(f"Unknown field(s): {', '.join(sorted(unknown))}.", sorted(unknown)[0], "")
        media_type, total, category = body.get("media_type"), body.get("total_bytes"), body.get("media_category")
        if media_type not in INIT_MEDIA_TYPES:
            raise _invalid("Invalid media_type.", "media_type", media_type)
        if not isinstance(total, int) or total <= 0:
            raise _invalid("total_bytes must be a positive integer.", "total_bytes", total)
        if category is not None and category not in MEDIA_CATEGORIES | {"amplify_video"}:
            raise _invalid("Invalid media_category.", "media_category", category)
        category = category or "tweet_image"
        if category == "tweet_image" and total > MAX_IMAGE_BYTES:
            raise _invalid(f"File size exceeds {MAX_IMAGE_BYTES} bytes.", "total_bytes", total)
        media = self._new_media(category, total_bytes=total, media_type=media_type)
        return _json({"data": {"id": media.id, "media_key": media.key, "expires_after_secs": self.media_ttl}})

    def _chunked(self, media_id: str) -> _Media:
        with self.lock:
            media = self.media.get(media_id)
        if media is None or media.total_bytes is None or media.expires <= time.time():
            raise _invalid("The provided media_id is invalid or expired.", "id", media_id)
        return media

    def _media_append(self, request: Request, media_id: str) -> Response:
        self._authenticate(request, "media.write")
        media = self._chunked(media_id)
        raw_index = request.form.get("segment_index")
        if raw_index is None or not raw_index.strip().isdigit() or not 0 <= int(raw_index) <= 999:
            raise _invalid("segment_index must be an integer from 0 to 999.", "segment_index", raw_index)
        chunk = self._media_part(request)
        with self.lock:
            if media.data is not None:
                raise _invalid("Media is already finalized.", "id", media_id)
            media.segments[int(raw_index)] = chunk
            return _json({"data": {"expires_at": int(media.expires)}})

    def _media_finalize(self, request: Request, media_id: str) -> Response:
        self._authenticate(request, "media.write")
        media = self._chunked(media_id)
        with self.lock:
            if media.data is None:
                data = b"".join(media.segments[i] for i in sorted(media.segments))
                if len(data) != media.total_bytes:
                    raise _invalid(
                        f"File size mismatch: received {len(data)} bytes, total_bytes was {media.total_bytes}.",
                        "total_bytes",
                        media.total_bytes,
                    )
                media.facts = self._image_facts(data, media.category)
                media.data, media.segments = data, {}
                media.polls_left = self.processing_polls
            answer = self._media_data(media)
            if media.polls_left > 0:
                answer["processing_info"] = {"state": "pending", "check_after_secs": 1}
            return _json({"data": answer})

    def _media_status(self, request: Request) -> Response:
        self._authenticate(request, "media.write")
        media_id = request.args.get("media_id", "")
        if request.args.get("command", "STATUS") != "STATUS":
            raise _invalid("command must be STATUS.", "command", request.args.get("command"))
        with self.lock:
            media = self.media.get(media_id)
            if media is None or media.data is None:
                raise _invalid("The provided media_id is invalid or expired.", "media_id", media_id)
            answer = self._media_data(media)
            if media.polls_left > 1:
                media.polls_left -= 1
                answer["processing_info"] = {"state": "in_progress", "check_after_secs": 1, "progress_percent": 50}
            elif media.polls_left == 1:
                media.polls_left = 0
                answer["processing_info"] = {"state": "succeeded", "progress_percent": 100}
            return _json({"data": answer})

    def _media_metadata(self, request: Request) -> Response:
        self._authenticate(request, "media.write")
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise _invalid("The `id` field is required.", "id", None)
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if alt is not None and (not isinstance(alt, str) or len(alt) > 1000):
            raise _invalid(
                "alt_text.text must be a string of at most 1000 characters.",
                "metadata.alt_text.text",
                f"{len(alt) if isinstance(alt, str) else alt}",
            )
        with self.lock:
            media = self.media.get(body["id"])
            if media is None or media.data is None or media.expires <= time.time():
                raise _invalid("The provided media_id is invalid or expired.", "id", body["id"])
            if alt is not None:
                media.alt_text = alt
        return _json({"data": {"id": body["id"], "associated_metadata": body.get("metadata") or {}}})

    # --- posts ------------------------------------------------------------------------------------
    def _create_post(self, request: Request) -> Response:
        self._authenticate(request, "tweet.write", "users.read", "tweet.read")
        now = time.time()
        with self.lock:
            recent = [p for p in self.post_list if p["created"] > now - 86400]
            if len(recent) >= self.daily_cap:
                reset = int(min(p["created"] for p in recent) + 86400) if recent else int(now + 86400)
                raise _ApiError(
                    429,
                    {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
                    {
                        "x-user-limit-24hour-limit": str(self.daily_cap),
                        "x-user-limit-24hour-remaining": "0",
                        "x-user-limit-24hour-reset": str(reset),
                    },
                    content_type="application/problem+json",
                )
        if request.mimetype != "application/json":
            raise _invalid("Content-Type must be application/json.")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise _invalid("Request body must be a JSON object.")
        if body.get("edit_options") is not None:  # editing needs X Premium: not this account
            raise _problem(403, "Forbidden", "You are not permitted to edit this Post.")
        text = body.get("text", "")
        media_ids = (body.get("media") or {}).get("media_ids")
        if not isinstance(text, str):
            raise _invalid("text must be a string.", "text", text)
        if media_ids is not None and (not isinstance(media_ids, list) or not 1 <= len(media_ids) <= 4):
            raise _invalid("media.media_ids must hold 1 to 4 media ids.", "media.media_ids", media_ids)
        if not text.strip() and not media_ids:
            raise _invalid("Post text or media is required.", "text", text)
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            raise _invalid("Your Tweet text is too long.", "text", text)
        with self.lock:
            attached = []
            for media_id in media_ids or []:
                media = self.media.get(str(media_id))
                if media is None or media.data is None or media.expires <= now or media.polls_left > 0:
                    raise _invalid("Your media IDs are invalid.", "media.media_ids", media_ids)
                attached.append(media)
            if text.strip() and any(p["text"] == text and not self._gone(p) for p in recent):
                raise _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
            post_id = str(1_870_000_000_000_000_000 + next(self._ids))
            first = attached[0].facts if attached else {}
            self.post_list.append(
                {
                    "id": post_id,
                    "text": text,
                    "created": now,
                    "created_at": _iso(now),
                    "deleted_at": None,
                    "alt_text": attached[0].alt_text if attached else None,
                    "width": first.get("w"),
                    "height": first.get("h"),
                    "bytes": first.get("bytes"),
                    "has_exif_gps": first.get("has_exif_gps"),
                    "media": [
                        {
                            "media_id": m.id,
                            "media_key": m.key,
                            "alt_text": m.alt_text,
                            "width": m.facts.get("w"),
                            "height": m.facts.get("h"),
                            "bytes": m.facts.get("bytes"),
                            "image_type": m.facts.get("image_type"),
                            "has_exif_gps": m.facts.get("has_exif_gps"),
                        }
                        for m in attached
                    ],
                }
            )
            self.truth.track(post_id, at=self.clock())
        return _json({"data": {"id": post_id, "text": text, "edit_history_post_ids": [post_id]}}, 201)

    def _delete_tweet(self, request: Request, post_id: str) -> Response:
        self._authenticate(request, "tweet.read", "tweet.write", "users.read")
        if not self.truth.has("tweet.write"):
            raise _problem(403, "Forbidden", "Forbidden")
        if not post_id.isdigit() or len(post_id) > 19:
            raise _invalid(f"The `id` query parameter value [{post_id}] is not valid", "id", post_id)
        with self.lock:
            if any(p["id"] == post_id for p in self.foreign_posts) and self.truth.live(post_id) is not None:
                raise _problem(403, "Forbidden", "You are not allowed to delete a Tweet of another user.")
            post = next((p for p in self.post_list if p["id"] == post_id), None)
            if post is None or self._gone(post):
                raise _ApiError(
                    404,
                    {
                        "title": "Not Found Error",
                        "detail": f"Could not find tweet with id: [{post_id}].",
                        "type": PROBLEMS + "resource-not-found",
                        "status": 404,
                    },
                    content_type="application/problem+json",
                )
            post["deleted_at"] = _iso(time.time())
            self.truth.delete(post_id)
        return _json({"data": {"deleted": True}})

    def _users_me(self, request: Request) -> Response:
        self._authenticate(request, "tweet.read", "users.read")
        return _json({"data": {"id": USER_ID, "name": "SocialOmega Sandbox", "username": USERNAME}})

    def _user_posts(self, request: Request, user_id: str) -> Response:
        self._authenticate(request, "tweet.read", "users.read")
        args = request.args
        unknown = [name for name in args if name not in TIMELINE_PARAMS]
        if unknown:
            raise _invalid(
                f"The query parameter [{unknown[0]}] is not one of [{','.join(sorted(TIMELINE_PARAMS))}]",
                unknown[0],
                args[unknown[0]],
            )
        if not user_id.isdigit():
            raise _invalid(f"The `id` query parameter value [{user_id}] is not valid", "id", user_id)
        raw_max = args.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            raise _invalid(
                f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100", "max_results", raw_max
            )
        fields = set((args.get("tweet.fields", "") + "," + args.get("post.fields", "")).split(",")) - {""}
        expansions = set(args.get("expansions", "").split(",")) - {""}
        start = _parse_time(args["start_time"], "start_time") if "start_time" in args else None
        end = _parse_time(args["end_time"], "end_time") if "end_time" in args else None
        with self.lock:
            posts = [p for p in reversed(self.post_list) if user_id == USER_ID and not self._gone(p)]
        posts = [
            p
            for p in posts
            if (start is None or p["created"] >= start)
            and (end is None or p["created"] < end)
            and (not args.get("since_id") or int(p["id"]) > int(args["since_id"]))
            and (not args.get("until_id") or int(p["id"]) < int(args["until_id"]))
        ]
        offset = 0
        if args.get("pagination_token"):
            try:
                offset = int(
                    base64.b32hexdecode(args["pagination_token"].upper() + "=" * (-len(args["pagination_token"]) % 8))
                )
            except (binascii.Error, ValueError):
                raise _invalid("Invalid pagination_token.", "pagination_token", args["pagination_token"]) from None
        page = posts[offset : offset + int(raw_max)]
        data, media = [], []
        for p in page:
            item: dict[str, Any] = {"id": p["id"], "text": p["text"], "edit_history_tweet_ids": [p["id"]]}
            if "created_at" in fields:
                item["created_at"] = p["created_at"]
            if p["media"] and ("attachments" in fields or "attachments.media_keys" in expansions):
                item["attachments"] = {"media_keys": [m["media_key"] for m in p["media"]]}
            if "attachments.media_keys" in expansions:
                media += [{"media_key": m["media_key"], "type": "photo"} for m in p["media"]]
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta.update(newest_id=data[0]["id"], oldest_id=data[-1]["id"])
        if offset + int(raw_max) < len(posts):
            meta["next_token"] = base64.b32hexencode(str(offset + int(raw_max)).encode()).decode().rstrip("=").lower()
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
        if media:
            body["includes"] = {"media": media}
        return _json(body)

    # --- engagement reads (the truth is sandbox/engagement.py's) ----------------------------------
    def add_foreign_post(self, text: str, author_id: str = "2244994945") -> str:
        """A post of another account (its metrics are public only); returns its id."""
        with self.lock:
            post_id = str(1_990_000_000_000_000_000 + len(self.foreign_posts) + 1)
            self.foreign_posts.append({"id": post_id, "text": text, "author_id": author_id})
            self.truth.track(post_id, at=self.clock())
            return post_id

    def _lookup_posts(self, request: Request) -> Response:
        self._authenticate(request, "tweet.read", "users.read")
        if not self.truth.has("tweet.read", "users.read"):
            raise _problem(403, "Forbidden", "Forbidden")
        args = request.args
        unknown = [name for name in args if name not in LOOKUP_PARAMS]
        if unknown:
            raise _invalid(
                f"The query parameter [{unknown[0]}] is not one of [{','.join(sorted(LOOKUP_PARAMS))}]",
                unknown[0],
                args[unknown[0]],
            )
        ids = args.get("ids", "").split(",")
        if not 1 <= len(ids) <= 100 or not all(i.isdigit() and len(i) <= 19 for i in ids):
            raise _invalid(
                f"The `ids` query parameter value [{args.get('ids', '')}] is not valid", "ids", args.get("ids")
            )
        fields = set((args.get("tweet.fields", "") + "," + args.get("post.fields", "")).split(",")) - {""}
        bad = sorted(fields - POST_FIELDS)
        if bad:
            raise _invalid(
                f"The `tweet.fields` query parameter value [{bad[0]}] is not one of [{','.join(sorted(POST_FIELDS))}]",
                "tweet.fields",
                bad[0],
            )
        now = self.clock()
        with self.lock:
            known = {p["id"]: {**p, "author_id": USER_ID} for p in self.post_list}
            known.update({p["id"]: dict(p) for p in self.foreign_posts})
        data, errors = [], []
        for post_id in dict.fromkeys(ids):
            record, truth = known.get(post_id), self.truth.live(post_id)
            if record is None or truth is None:
                errors.append(
                    {
                        "value": post_id,
                        "detail": f"Could not find tweet with ids: [{post_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": post_id,
                        "type": PROBLEMS + "resource-not-found",
                    }
                )
                continue
            private = sorted(fields & {"non_public_metrics", "organic_metrics", "promoted_metrics"})
            owned_recent = record["author_id"] == USER_ID and now - truth.published_at <= 30 * 86400
            refused = [f for f in private if f == "promoted_metrics" or not owned_recent]
            if refused:
                errors += [_field_error(post_id, f) for f in refused]
                continue
            data.append(self._post_metrics(record, truth, fields, now))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return _json(body)

    def _post_metrics(
        self, record: dict[str, Any], truth: engagement.PostTruth, fields: set[str], now: float
    ) -> dict[str, Any]:
        m = self.truth.metrics(truth, now)
        profile_clicks = m["clicks"] // 3
        link_clicks = m["clicks"] - profile_clicks
        item: dict[str, Any] = {"id": record["id"], "text": record["text"], "edit_history_tweet_ids": [record["id"]]}
        if "created_at" in fields:
            item["created_at"] = _iso(truth.published_at)
        if "author_id" in fields:
            item["author_id"] = record["author_id"]
        if "public_metrics" in fields:
            item["public_metrics"] = {
                "retweet_count": m["shares"],
                "repost_count": m["shares"],
                "reply_count": m["comments"],
                "like_count": m["likes"],
                "quote_count": 0,
                "bookmark_count": m["saves"],
                "impression_count": m["views"],
            }
        if "non_public_metrics" in fields:
            item["non_public_metrics"] = {
                "impression_count": m["views"],
                "url_link_clicks": link_clicks,
                "user_profile_clicks": profile_clicks,
                "engagements": m["likes"] + m["comments"] + m["shares"] + m["saves"] + m["clicks"],
            }
        if "organic_metrics" in fields:
            item["organic_metrics"] = {
                "impression_count": m["views"],
                "like_count": m["likes"],
                "reply_count": m["comments"],
                "retweet_count": m["shares"],
                "url_link_clicks": link_clicks,
                "user_profile_clicks": profile_clicks,
            }
        return item

    # --- control (the common endpoints are control.SandboxControl's) ------------------------------
    def _ctl_revoke_refresh(self, body: dict[str, Any], request: Request) -> Response:
        self.revoke_refresh()
        return _json({"revoked": True})

    def _ctl_daily_cap(self, body: dict[str, Any], request: Request) -> Response:
        if not isinstance(body.get("cap"), int):
            return _json({"error": "cap must be an integer"}, 400)
        self.set_daily_cap(body["cap"])
        return _json({"daily_cap": body["cap"]})

    def _ctl_processing(self, body: dict[str, Any], request: Request) -> Response:
        self.set_processing_polls(int(body.get("polls", 0)))
        return _json({"polls": self.processing_polls})

    def _ctl_expire_media(self, body: dict[str, Any], request: Request) -> Response:
        self.expire_media()
        return _json({"expired": True})


LOOKUP_PARAMS = {
    "ids",
    "tweet.fields",
    "post.fields",
    "expansions",
    "media.fields",
    "user.fields",
    "poll.fields",
    "place.fields",
}
POST_FIELDS = {
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
}


def _field_error(post_id: str, field_name: str) -> dict[str, Any]:
    return {
        "value": post_id,
        "detail": f"Sorry, you are not authorized to access '{field_name}' on the Tweet with ids : [{post_id}].",
        "title": "Field Authorization Error",
        "resource_type": "tweet",
        "parameter": "tweet.fields",
        "resource_id": post_id,
        "section": "data",
        "field": field_name,
        "type": PROBLEMS + "not-authorized-for-field",
    }


def _gateway_timeout(fault: control.Fault) -> Response:
    """The client gave up meanwhile; nothing was done."""
    return _json(
        {"title": "Gateway Timeout", "detail": "Gateway Timeout", "type": "about:blank", "status": 504},
        504,
        content_type="application/problem+json",
    )
