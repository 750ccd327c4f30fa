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
  POST /{version}/{page-post-id}   form `message` -> 200 {"success": true}: the post's text
        (= the photo's caption here; that the two are one text is UNCONFIRMED) changes in place
        (developers.facebook.com/documentation/pages-api/posts.md "update a post"; Meta SDK
        v25 `PagePost.api_update` lists `message`; answer shape UNCONFIRMED). Other PagePost
        fields (is_hidden, is_published, ...) are not served: 400 code 100. A photo id is not
        editable (the Photo node has no update in Meta's SDK): 400 code 100 subcode 33.
  DELETE /{version}/{page-post-id} (or /{photo-id}) -> 200 {"success": true} (Pages API posts
        guide "delete a post"; Meta SDK `PagePost.api_delete`, `Photo.api_delete`). The post is
        gone: not listed, its node, insights and edits answer code 100 subcode 33.
      Edits and deletes, in Graph's order: the token (104/190/463 as below); an unknown or
      deleted object -> 400 code 100 subcode 33 GraphMethodException "Unsupported post|delete
      request. Object with ID ... does not exist, cannot be loaded due to missing permissions,
      or does not support this operation ..."; another Page's post, or the grant
      `pages_manage_posts` revoked (/_sandbox/permissions) -> 403 code 200 "(#200) If posting
      to a page, requires both pages_read_engagement and pages_manage_posts ..." (the Pages API
      posts guide requires pages_manage_posts; status and message for edits UNCONFIRMED).
      Unlike insights, grants gate these writes too. /_sandbox/posts shows `caption` (the
      current text), `edits`, `edited_at`, `deleted` and `deleted_at`.
  GET  /{version}/debug_token?input_token=<token>  with the app token `APP_ID|APP_SECRET` ->
      `{"data": {"type": "PAGE", "expires_at": 0, "is_valid", "profile_id", ...}}`: a Page token
      derived from a long-lived user token never expires (graph.GraphApp; an expired one is
      `is_valid: false` with error 190/463).
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
  plus the engagement controls of sandbox/engagement.py (engage, engagement, clock,
  permissions, delete-post, webhook-url)

Engagement reads (answered from the engagement truth, sandbox/engagement.py). The Page token's
granted scopes start as PAGE_SCOPES + `read_insights` (`/_sandbox/permissions` changes them):
  GET /{v}/{page-post-id}?fields=reactions.summary(total_count).limit(0),
        comments.filter(stream).summary(total_count).limit(0),shares,message,created_time,...
      -> {"reactions": {"data": [], "summary": {"total_count", "viewer_reaction"}},
          "comments": {"data": [], "summary": {"order", "total_count", "can_comment"}},
          "shares": {"count"}, "id"}: REF-I section 2.1.A, a third-party shape (UNCONFIRMED).
      `shares` is left out at 0 (third-party reports, UNCONFIRMED). Every reaction here is a
      LIKE (the truth's likes); `filter(stream)` and `filter(toplevel)` count the same (the
      fake's comments have no replies). Without `.limit(0)` `data` lists up to `limit` (25)
      made-up fans, without paging. The photo id is a node too (type Photo: no `shares`).
      Reading reactions/comments needs `pages_read_engagement`: else 400 code 10 "(#10) This
      endpoint requires the 'pages_read_engagement' permission ..." (the widely captured
      message; status UNCONFIRMED).
  GET /{v}/?ids=<id,...>&fields=...   {"<id>": <node>, ...}; at most 50 ids (UNCONFIRMED:
      "(#100) Too many IDs. Maximum: 50."); an unknown id fails the whole call with 404 code
      803 "(#803) Some of the aliases you requested do not exist: <id>" (captured message).
  GET /{v}/{page-post-id}/insights?metric=post_media_view,post_total_media_view_unique,post_clicks
      -> {"data": [{"name", "period": "lifetime", "values": [{"value"}], "title", "description",
      "id": "{post}/insights/{name}/lifetime"}]} (element shape: developers.facebook.com/blog/
      post/2023/04/12/introducing-new-metric-to-the-page-insights-api). Served: post_media_view
      (views), post_total_media_view_unique (reach), post_clicks (clicks),
      post_reactions_by_type_total ({"like": n}), post_reactions_like_total,
      post_activity_by_action_type ({"like", "comment", "share"}): the list a third party found
      valid on v25.0 (REF-I 2.1.B, UNCONFIRMED first-party). Anything else, the deprecated
      post_impressions* and post_engaged_users included -> 400 code 100 "(#100) The value must
      be a valid insights metric" (widely captured message). Needs `read_insights` and
      `pages_read_engagement` (third-party scope list, UNCONFIRMED): else 403 code 200
      "(#200) Requires extended permission: read_insights" (message shape UNCONFIRMED).
      `page_likes` below 100 -> {"data": []} ("only available on Pages with 100 or more likes").
  A deleted post (/_sandbox/delete-post) or unknown id -> 400 code 100 GraphMethodException
  "Unsupported get request. Object with ID ... does not exist ..." (subcode 33).
"""

from __future__ import annotations

import base64
import hmac
import io
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

from socialomega.sandbox import control, engagement
from socialomega.sandbox.graph import GraphApp, GraphError, GraphToken
from socialomega.sandbox.ids import id_source

PAGE_ID = "104857600000001"
PAGE_NAME = "SocialOmega Sandbox Page"
PAGE_TOKEN = "sandbox-facebook-page-token"
OTHER_PAGE_ID = "104857600000002"
OTHER_PAGE_TOKEN = "sandbox-facebook-other-page-token"  # valid, but for another Page: code 200
# The Meta app the Page tokens belong to (debug_token's app token `APP_ID|APP_SECRET`); not secrets.
APP_ID = "730000000000002"
APP_SECRET = "sandbox-facebook-app-secret"
PAGE_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
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
        Rule("/<version>/debug_token", endpoint="debug_token", methods=["GET"]),
        Rule("/<version>/", endpoint="multi_node", methods=["GET"]),
        Rule("/<version>/<node>", endpoint="node", methods=["GET"]),
        Rule("/<version>/<node>", endpoint="update_node", methods=["POST"]),
        Rule("/<version>/<node>", endpoint="delete_node", methods=["DELETE"]),
        Rule("/<version>/<node>/insights", endpoint="insights", methods=["GET"]),
    ],
    strict_slashes=False,
)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json; charset=UTF-8")


def _graph_time(moment: datetime) -> str:
    """Graph's timestamp format: 2026-11-26T08:43:11+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class FacebookPageFake(control.SandboxControl, engagement.EngagementControl):
    """The WSGI app. State is reachable for in-process tests; every change holds `lock`.
    fail_next, the request log and the common /_sandbox endpoints: `control.SandboxControl`."""

    RETRY_AFTER_DEFAULT = 60.0
    EXTRA_CONTROL = {("POST", "/_sandbox/issue-token"): "_ctl_issue_token", **engagement.CONTROL_ROUTES}
    PLATFORM = "facebook"
    DEFAULT_GRANTS = frozenset(PAGE_SCOPES) | {"read_insights"}
    page_likes = 1000  # Page insights need "100 or more likes"

    def __init__(self, fetch_timeout: tuple[float, float] = FETCH_TIMEOUT, clock: Any = None) -> None:
        self.lock = threading.RLock()
        self.fetch_timeout = fetch_timeout
        # Engagement and insights only (engagement.py); tokens and photo times stay on wall time.
        self.clock = engagement.SandboxClock() if clock is None else clock
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
            self._reset_engagement()
            self.calls = 0
            self._ids = id_source()  # unique across runs too (sandbox/ids.py)

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
            return [{**p, "deleted": self._gone(p)} for p in self.photos]

    def _gone(self, photo: dict[str, Any]) -> bool:
        """Deleted through the API, or (its post) through /_sandbox/delete-post."""
        post_id = photo["post_id"]
        return photo["deleted_at"] is not None or (post_id is not None and self.truth.live(post_id) is None)

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
        page = self._token_page(request)
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
                raise _not_a_manager()
            raise GraphError(403, 200, "(#200) Permissions error")

    def _token_page(self, request: Request) -> str:
        """The Page of the call's token; Graph's token errors (104, 190, 190/463) otherwise."""
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
        return page

    # --- API ------------------------------------------------------------------------------------
    def _debug_token(self, request: Request, version: str) -> Response:
        """debug_token (graph.GraphApp): the sandbox's Page tokens never expire (`expires_at: 0`)."""
        params = {**request.args.to_dict(), **request.form.to_dict()}
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        caller = params.get("access_token") or (value.strip() if scheme.lower() in ("bearer", "oauth") else None)
        now = datetime.now(UTC).timestamp()
        app = GraphApp(APP_ID, APP_SECRET, "SocialOmega Sandbox")
        with self.lock:
            app.tokens = {
                token: GraphToken("PAGE", page, now, None, PAGE_SCOPES, expired=expired is not None)
                for token, (page, expired) in self.tokens.items()
            }
        return _json(app.debug(caller, params.get("input_token"), now))

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
            photo_id = f"{PAGE_ID[:4]}{next(self._ids):014d}"  # 18 digits, like a new-style id
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
                    "edits": 0,
                    "edited_at": None,
                    "deleted_at": None,
                    **facts,
                }
            )
            if post_id:
                self.truth.track(post_id, at=self.clock(), aliases=(photo_id,))
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
            photos = [p for p in reversed(self.photos) if p["page_id"] == node and p["published"] and not self._gone(p)]
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
            photos = [p for p in reversed(self.photos) if p["page_id"] == node and p["published"] and not self._gone(p)]

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

    # --- edits and deletes ---------------------------------------------------------------------
    def _update_node(self, request: Request, version: str, node: str) -> Response:
        photo = self._editable(request, node, "post")
        if node != photo["post_id"]:  # a photo id: the Photo node has no update (Meta's SDK)
            raise _no_object("post", node)
        params = {k: v for k, v in {**request.args.to_dict(), **request.form.to_dict()}.items() if k != "access_token"}
        unserved = sorted(set(params) - {"message"})
        if unserved:
            raise GraphError(400, 100, f"(#100) The sandbox updates a post's message only, not {unserved[0]}")
        message = params.get("message")
        if not message:
            raise GraphError(400, 100, "(#100) The parameter message is required")  # UNCONFIRMED message
        if len(message) > MAX_CAPTION:
            raise GraphError(400, 100, f"(#100) Param message must be at most {MAX_CAPTION} characters long.")
        with self.lock:
            photo["caption"] = message
            photo["edits"] += 1
            photo["edited_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        return _json({"success": True})

    def _delete_node(self, request: Request, version: str, node: str) -> Response:
        photo = self._editable(request, node, "delete")
        with self.lock:
            photo["deleted_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
            if photo["post_id"] is not None:
                self.truth.delete(photo["post_id"])
        return _json({"success": True})

    def _editable(self, request: Request, node: str, verb: str) -> dict[str, Any]:
        """The photo (post) an edit or delete of `node` acts on, checked in Graph's order: the
        token, the object (unknown or deleted: 100/33), its Page and the permission (200)."""
        page = self._token_page(request)
        with self.lock:
            photo = next((p for p in self.photos if node in (p["post_id"], p["id"])), None)
            if photo is None or self._gone(photo):
                raise _no_object(verb, node)
        if photo["page_id"] != page or not self.truth.has("pages_manage_posts"):
            raise _not_a_manager()
        return photo

    # --- engagement reads (the truth is sandbox/engagement.py's) ----------------------------------
    def _photo_of(self, node: str) -> dict[str, Any]:
        """The published photo whose post id or photo id is `node`, unless deleted."""
        with self.lock:
            photo = next((p for p in self.photos if p["published"] and node in (p["post_id"], p["id"])), None)
        if photo is None or self.truth.live(node) is None:
            raise GraphError(
                400,
                100,
                f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to "
                "missing permissions, or does not support this operation. Please read the Graph API "
                "documentation at https://developers.facebook.com/docs/graph-api",
                error_type="GraphMethodException",
                subcode=33,
            )
        return photo

    def _node(self, request: Request, version: str, node: str) -> Response:
        photo = self._photo_of(node)
        self._authenticate(request, photo["page_id"], writing=False)
        return _json(self._render_node(photo, node, request.args.get("fields")))

    def _multi_node(self, request: Request, version: str) -> Response:
        ids = [i.strip() for i in request.args.get("ids", "").split(",") if i.strip()]
        if not ids:
            raise GraphError(400, 100, "(#100) Missing ids parameter")  # UNCONFIRMED message
        if len(ids) > 50:
            raise GraphError(400, 100, "(#100) Too many IDs. Maximum: 50.")
        photos = {}
        for node in ids:
            try:
                photos[node] = self._photo_of(node)
            except GraphError:
                raise GraphError(404, 803, f"(#803) Some of the aliases you requested do not exist: {node}") from None
        for photo in photos.values():
            self._authenticate(request, photo["page_id"], writing=False)
        fields = request.args.get("fields")
        return _json({node: self._render_node(photo, node, fields) for node, photo in photos.items()})

    def _render_node(self, photo: dict[str, Any], node: str, raw_fields: str | None) -> dict[str, Any]:
        is_post = node == photo["post_id"]
        node_type = "Post" if is_post else "Photo"
        plain = POST_FIELDS if is_post else PHOTO_FIELDS
        edges = ("reactions", "comments", "shares") if is_post else ("reactions", "comments")
        specs = [_field_spec(f) for f in _split_fields(raw_fields)] if raw_fields else []
        for name, _mods in specs:
            if name not in plain and name not in edges:
                raise GraphError(
                    400, 100, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
                )
        if any(name in ("reactions", "comments") for name, _ in specs) and not self.truth.has("pages_read_engagement"):
            raise GraphError(
                400,
                10,
                "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content "
                "Access' feature. Refer to https://developers.facebook.com/docs/apps/review/login-permissions#"
                "manage-pages and https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS "
                "for details.",
            )
        post = self.truth.live(node)
        assert post is not None  # _photo_of checked it
        counts = self.truth.metrics(post, self.clock())
        values: dict[str, Any] = {
            "id": node,
            "message": photo["caption"],
            "name": photo["caption"],
            "created_time": photo["created_time"],
            "permalink_url": f"https://www.facebook.com/{photo['post_id']}",
            "page_story_id": photo["post_id"],
            "link": f"https://www.facebook.com/photo.php?fbid={photo['id']}",
            "alt_text_custom": photo["alt_text_custom"],
            "width": photo["width"],
            "height": photo["height"],
        }
        body: dict[str, Any] = {}
        for name, mods in specs or [("id", {})]:
            if name == "reactions":
                wanted = mods.get("type", "LIKE").upper()
                total = counts["likes"] if wanted in ("LIKE", "NONE", "") else 0
                body[name] = _edge(
                    total,
                    mods,
                    {"viewer_reaction": "NONE"},
                    lambda i: {"id": _fan(i)["id"], "name": _fan(i)["name"], "type": "LIKE"},
                )
            elif name == "comments":
                body[name] = _edge(
                    counts["comments"],
                    mods,
                    {"order": "ranked", "total_count": counts["comments"], "can_comment": True},
                    lambda i: {"from": _fan(i), "message": "Lovely light", "id": f"{photo['post_id']}_{i + 1}"},
                )
            elif name == "shares":
                if counts["shares"]:
                    body[name] = {"count": counts["shares"]}
            elif values.get(name) not in (None, ""):
                body[name] = values[name]
        body.setdefault("id", node)
        return body

    def _insights(self, request: Request, version: str, node: str) -> Response:
        photo = self._photo_of(node)
        self._authenticate(request, photo["page_id"], writing=False)
        names = [m.strip() for m in request.args.get("metric", "").split(",") if m.strip()]
        for name in names:
            if name not in _POST_METRICS:
                raise GraphError(400, 100, "(#100) The value must be a valid insights metric")
        if not self.truth.has("read_insights", "pages_read_engagement"):
            raise GraphError(403, 200, "(#200) Requires extended permission: read_insights")
        if self.page_likes < 100:
            return _json({"data": []})
        post = self.truth.live(node)
        assert post is not None  # _photo_of checked it
        values = self.truth.metrics(post, self.clock())
        data = [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": _POST_METRICS[name][2](values)}],
                "title": _POST_METRICS[name][0],
                "description": _POST_METRICS[name][1],
                "id": f"{node}/insights/{name}/lifetime",
            }
            for name in dict.fromkeys(names)
        ]
        return _json({"data": data})

    # --- control (the common endpoints are control.SandboxControl's) ----------------------------
    def _ctl_issue_token(self, body: dict[str, Any], request: Request) -> Response:
        return _json({"page_access_token": self.issue_token()})


def _gateway_timeout(fault: control.Fault) -> Response:
    return Response("Gateway Timeout", status=504, content_type="text/plain")


def _no_object(verb: str, node: str) -> GraphError:
    return GraphError(
        400,
        100,
        f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        error_type="GraphMethodException",
        subcode=33,
    )


def _not_a_manager() -> GraphError:
    return GraphError(
        403,
        200,
        "(#200) If posting to a page, requires both pages_read_engagement and "
        "pages_manage_posts as an admin with sufficient administrative permission",
    )


# Post insights served: name -> (title, description, value from engagement.PostTruth.metrics()).
_POST_METRICS: dict[str, tuple[str, str, Any]] = {
    "post_media_view": ("Views", "The number of times the post was on screen.", lambda m: m["views"]),
    "post_total_media_view_unique": ("Viewers", "The number of people who saw the post.", lambda m: m["reach"]),
    "post_clicks": ("Post clicks", "The number of clicks anywhere in the post.", lambda m: m["clicks"]),
    "post_reactions_by_type_total": (
        "Reactions by type",
        "Reactions on the post by type.",
        lambda m: {"like": m["likes"]},
    ),
    "post_reactions_like_total": ("Like reactions", "Like reactions on the post.", lambda m: m["likes"]),
    "post_activity_by_action_type": (
        "Post stories by action type",
        "Stories created about the post, by action type.",
        lambda m: {"like": m["likes"], "comment": m["comments"], "share": m["shares"]},
    ),
}


def _split_fields(raw: str) -> list[str]:
    """`a,b.summary(x,y){c,d},e` -> ["a", "b.summary(x,y){c,d}", "e"] (commas inside () and {} kept)."""
    parts, depth, current = [], 0, ""
    for char in raw:
        depth += char in "({"
        depth -= char in ")}"
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def _field_spec(spec: str) -> tuple[str, dict[str, str]]:
    """`comments.filter(stream).summary(total_count).limit(0)` -> ("comments", {"filter": "stream", ...})."""
    match = re.match(r"[A-Za-z_]+", spec)
    name = match.group(0) if match else spec
    return name, dict(re.findall(r"\.(\w+)\(([^)]*)\)", spec[len(name) :]))


def _fan(i: int) -> dict[str, str]:
    return {"id": f"{5550000000000100 + i}", "name": f"Sandbox Fan {i + 1}"}


def _edge(total: int, mods: dict[str, str], summary: dict[str, Any], item: Any) -> dict[str, Any]:
    """A reactions/comments edge: up to `limit` (default 25) made-up items, a summary if asked."""
    try:
        limit = max(0, int(mods.get("limit", "25")))
    except ValueError:
        raise GraphError(400, 100, "(#100) limit must be an integer") from None
    edge: dict[str, Any] = {"data": [item(i) for i in range(min(limit, total))]}
    if "summary" in mods:
        edge["summary"] = {"total_count": total, **summary} if "total_count" not in summary else summary
    return edge


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
    return {"page_access_token": PAGE_TOKEN, "app_id": APP_ID, "app_secret": APP_SECRET}


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
