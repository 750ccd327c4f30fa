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
  GET  /rest/posts/{urn}         one post.

Identity: the sandbox token belongs to member `MEMBER_URN`, who administers `ORG_URN`; any other
owner/author -> 403 ACCESS_DENIED.

Error bodies are LinkedIn's `{"status", "serviceErrorCode"?, "code", "message"}`:
  401 {"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"}
      unknown/missing token; after expire-token the token answers LinkedIn's
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
  POST /_sandbox/expire-token   the current access token is revoked (401 REVOKED_ACCESS_TOKEN)
  GET  /_sandbox/posts          created posts, oldest first, with commentary, alt_text, image facts
                                (width, height, bytes, format, has_exif_gps)
  GET  /_sandbox/requests       method, path, status, fault of every API/upload call (no credentials)
  POST /_sandbox/reset
"""

from __future__ import annotations

import hmac
import io
import itertools
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

from socialomega.sandbox import control

ACCESS_TOKEN = "sandbox-linkedin-access-token"
MEMBER_URN = "urn:li:person:SbxMember01"
ORG_URN = "urn:li:organization:2414183"
# Images API: "fewer than 36,152,320 pixels"; JPG, PNG, GIF up to 250 frames. UNCONFIRMED (widely
# quoted from the Images API page, official text not read): the fake enforces these numbers.
MAX_PIXELS = 36_152_320
MAX_GIF_FRAMES = 250
ALLOWED_FORMATS = {"JPEG", "PNG", "GIF"}
COMMENTARY_MAX = 3000
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
    ]
)


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
    """The target's Secrets Manager value, as the publisher reads it."""
    return {"access_token": ACCESS_TOKEN}


def sandbox_target(base_url: str, name: str) -> dict[str, Any]:
    """A complete target entry pointing the LinkedIn publisher at this fake."""
    return {
        "name": name,
        "platform": "linkedin",
        "spec": {},
        "api_base_url": base_url.rstrip("/"),
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


class LinkedInFake(control.SandboxControl):
    """The WSGI app. `clock` is wall time in seconds (tests may move it). fail_next (plus
    `daily`; `retry_after` is accepted and ignored: LinkedIn sends no Retry-After), the request
    log and the common /_sandbox endpoints come from `control.SandboxControl`."""

    FAULT_OPTIONS = {"daily": bool}
    EXPIRE_TOKEN_ANSWER = {"revoked": True}

    def __init__(
        self,
        processing_delay: float = 0.0,
        upload_url_ttl: float = UPLOAD_URL_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._defaults = (processing_delay, upload_url_ttl)
        self.reset()

    # --- Python-side control (same effects as the HTTP control API) ---------------------------
    def reset(self) -> None:
        with self.lock:
            self.processing_delay, self.upload_url_ttl = self._defaults
            self.token_revoked = False
            self.images: dict[str, dict[str, Any]] = {}
            self.uploads: dict[str, str] = {}  # upload token -> image urn
            self.post_list: list[dict[str, Any]] = []
            self._reset_control()
            self._ids = itertools.count(7_300_000_000_000_000_001)

    def expire_token(self) -> None:
        with self.lock:
            self.token_revoked = True

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._sandbox_view(p) for p in self.post_list]

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
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), ACCESS_TOKEN):
            raise _ApiError(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        with self.lock:
            revoked = self.token_revoked
        if revoked:
            raise _ApiError(
                401, "REVOKED_ACCESS_TOKEN", "The token used in the request has been revoked by the user", 65601
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
            urn = f"urn:li:share:{next(self._ids)}"
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
            }
            if media is not None:
                post["content"] = {"media": {k: v for k, v in media.items() if k in ("id", "altText", "title")}}
            self.post_list.append(post)
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
            mine = [self._public(p) for p in self.post_list if p["author"] == author]
        mine.sort(key=lambda p: (p[sort_key], p["id"]), reverse=True)
        page = mine[start : start + count]
        return _json({"paging": {"start": start, "count": count, "links": [], "total": len(mine)}, "elements": page})

    def _get_post(self, request: Request, urn: str) -> Response:
        with self.lock:
            post = next((p for p in self.post_list if p["id"] == urn), None)
        if post is None:
            raise _ApiError(404, "NOT_FOUND", f"Post {urn} does not exist")
        self._authorize(post["author"], "GET", "/rest/posts")
        return _json(self._public(post))

    # --- control API (the common endpoints are control.SandboxControl's) -------------------
    @staticmethod
    def _sandbox_view(post: dict[str, Any]) -> dict[str, Any]:
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
            "image": (
                {k: facts.get(k) for k in ("width", "height", "bytes", "format", "has_exif_gps")} if facts else None
            ),
        }


def _gateway_timeout(fault: control.Fault) -> Response:
    raise _ApiError(504, "GATEWAY_TIMEOUT", "Gateway Timeout")


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
