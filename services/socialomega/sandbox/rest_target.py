"""A generic REST publishing target (werkzeug WSGI app) that records what it receives.

API (what the generic REST publisher talks to):
  POST /oauth/token        OAuth2 client credentials (RFC 6749 section 4.4). Client auth by HTTP
                           Basic or `client_id`/`client_secret` form fields. Answers
                           `{"access_token", "token_type": "Bearer", "expires_in", "scope"}`.
  POST /v1/posts           JSON `{"title": str, "image_url": str | "media_id": str, ...}` -> 201
                           `{"id": "post_..."}` + Location. `Idempotency-Key` header (posts
                           and media): a repeat with the same key answers the original result
                           (200, `Idempotent-Replayed: true`) and records nothing new. Bodies
                           are not compared by default (presigned image URLs differ per try);
                           `strict_idempotency=True` answers 422 to a different body.
  GET  /v1/posts/<id>      the stored post; GET /v1/posts?external_id=X lists posts carrying
                           that `external_id` (for reconcile-after-timeout flows).
  DELETE /v1/posts/<id>    -> 204, empty body: the post is gone (GET 404, left out of the list,
                           `deleted_at` in /_sandbox/received's post entry plus a "delete" entry).
                           Needs `posts:write` (the read-only key: 403); an unknown or already
                           deleted id -> 404 `{"error": "not_found"}` (this target's choice; a
                           generic target documents its own). What `endpoint.delete_url`
                           (`.../v1/posts/{remote_id}`) points the REST publisher at.
  POST /v1/media           multipart/form-data with an image file part (any field name, image/*
                           or decodable by Pillow) -> 201 `{"id": "media_...", "width", "height",
                           "bytes", "content_type"}`; too large -> 413.
Auth (every /v1 call), any of the enabled modes:
  api_key  `X-Api-Key: sandbox-rest-key`
  basic    `Authorization: Basic base64(sandbox-user:sandbox-password)`
  bearer   `Authorization: Bearer sandbox-rest-token` (a static token)
  oauth2   `Authorization: Bearer <token from /oauth/token>` (client `sandbox-rest-client` /
           `sandbox-rest-secret`); tokens expire after `expires_in` or on demand.
  No/invalid credentials -> 401 with `WWW-Authenticate`; valid but not allowed (the read-only
  key `sandbox-rest-readonly-key`, or an OAuth token without the needed scope) -> 403.
Errors are JSON `{"error": <code>, "message": <text>}` (plus `details` for validation).
None of these credentials is a secret: they are fixed sandbox values.

Control API (sandbox only, no auth):
  GET    /_sandbox/received          accepted posts and media, with request headers minus
                                     credentials (Authorization, X-Api-Key, Cookie)
  GET    /_sandbox/requests          every /v1 and /oauth request with its status
  POST   /_sandbox/faults            {kind: "500"|"429"|"delay", count?=1, retry_after?=1,
                                      delay?=seconds, path_contains?} affects the next N /v1 calls.
                                     A `delay` sleeps and THEN processes the request normally:
                                     the client may time out although the post was created
                                     (the ambiguous outcome a publisher must reconcile).
  GET/DELETE /_sandbox/faults
  POST   /_sandbox/auth              {modes: [...], token_ttl?: seconds} which auth modes to accept
  POST   /_sandbox/expire-tokens     invalidate every issued OAuth token
  POST   /_sandbox/reset             forget everything, restore defaults
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import faults
from socialomega.sandbox.ids import id_source

API_KEY = "sandbox-rest-key"
READONLY_API_KEY = "sandbox-rest-readonly-key"
BASIC_USER = "sandbox-user"
BASIC_PASSWORD = "sandbox-password"
STATIC_BEARER = "sandbox-rest-token"
CLIENT_ID = "sandbox-rest-client"
CLIENT_SECRET = "sandbox-rest-secret"
ALL_MODES = ("api_key", "basic", "bearer", "oauth2")
DEFAULT_SCOPE = "posts:write media:write"
KNOWN_SCOPES = {"posts:read", "posts:write", "media:write"}
MAX_MEDIA_BYTES = 8 * 1024 * 1024
_HIDDEN_HEADERS = {"authorization", "x-api-key", "cookie", "proxy-authorization"}

_ROUTES = Map(
    [
        Rule("/oauth/token", endpoint="token", methods=["POST"]),
        Rule("/v1/posts", endpoint="create_post", methods=["POST"]),
        Rule("/v1/posts", endpoint="list_posts", methods=["GET"]),
        Rule("/v1/posts/<post_id>", endpoint="get_post", methods=["GET"]),
        Rule("/v1/posts/<post_id>", endpoint="delete_post", methods=["DELETE"]),
        Rule("/v1/media", endpoint="upload_media", methods=["POST"]),
        Rule("/_sandbox/received", endpoint="ctl_received", methods=["GET"]),
        Rule("/_sandbox/requests", endpoint="ctl_requests", methods=["GET"]),
        Rule("/_sandbox/faults", endpoint="ctl_faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_sandbox/auth", endpoint="ctl_auth", methods=["POST"]),
        Rule("/_sandbox/expire-tokens", endpoint="ctl_expire_tokens", methods=["POST"]),
        Rule("/_sandbox/reset", endpoint="ctl_reset", methods=["POST"]),
    ]
)


class _ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None, details: Any = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers, self.details = (
            status,
            error,
            message,
            headers or {},
            details,
        )


@dataclass
class _Fault:
    kind: str  # "500" | "429" | "delay" | "echo" (a 400 quoting the request's headers, credentials too)
    remaining: int
    retry_after: int = 1
    delay: float = 0.0
    path_contains: str | None = None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class RestTarget:
    """The WSGI app; state reachable for in-process tests (`received`, `requests`)."""

    def __init__(
        self,
        modes: tuple[str, ...] | list[str] = ALL_MODES,
        token_ttl: float = 3600.0,
        max_media_bytes: int = MAX_MEDIA_BYTES,
        strict_idempotency: bool = False,
    ) -> None:
        self.lock = threading.RLock()
        self.strict_idempotency = strict_idempotency
        self._defaults = (tuple(modes), token_ttl, max_media_bytes)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.modes: set[str] = set(self._defaults[0])
            self.token_ttl: float = self._defaults[1]
            self.max_media_bytes: int = self._defaults[2]
            self.tokens: dict[str, tuple[float, set[str]]] = {}  # token -> (expires monotonic, scopes)
            self.posts: dict[str, dict[str, Any]] = {}
            self.media: dict[str, dict[str, Any]] = {}
            # (path, key) -> (body hash, status-200 response body)
            self.idempotency: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
            self.received: list[dict[str, Any]] = []
            self.requests: list[dict[str, Any]] = []
            self.faults: deque[_Fault] = deque()
            self._ids = id_source()  # unique across runs too (sandbox/ids.py)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = _ROUTES.bind_to_environ(environ).match()
        except HTTPException as exc:
            return _json(
                {"error": "not_found" if exc.code == 404 else "method_not_allowed", "message": exc.description},
                exc.code or 404,
            )(environ, start_response)
        if endpoint.startswith("ctl_"):
            response = getattr(self, "_" + endpoint)(request)
            return response(environ, start_response)
        fault_name = None
        try:
            if request.path.startswith("/v1/"):
                fault = self._take_fault(request.path)
                if fault is not None:
                    fault_name = fault.kind
                    if fault.kind == "delay":
                        time.sleep(fault.delay)
                    elif fault.kind == "429":
                        raise _ApiError(
                            429, "rate_limited", "Too many requests", {"Retry-After": str(fault.retry_after)}
                        )
                    elif fault.kind == "echo":  # careless APIs quote the request back in errors
                        raise _ApiError(400, "bad_request", f"Rejected request with headers {dict(request.headers)}")
                    else:
                        raise _ApiError(500, "internal_error", "Injected server error")
            response = getattr(self, "_" + endpoint)(request, **args)
        except _ApiError as exc:
            body = {"error": exc.error, "message": exc.message}
            if exc.details is not None:
                body["details"] = exc.details
            response = _json(body, exc.status, exc.headers)
        except HTTPException as exc:  # e.g. 413 from werkzeug's form parser
            response = _json({"error": "request_error", "message": exc.description}, exc.code or 400)
        with self.lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "fault": fault_name,
                    "at": _now(),
                }
            )
        return response(environ, start_response)

    def _take_fault(self, path: str) -> _Fault | None:
        with self.lock:
            return faults.take_fault(self.faults, path)

    # --- auth ---------------------------------------------------------------------------------
    def _authenticate(self, request: Request, scope: str) -> str:
        """Return the auth mode that succeeded, or raise 401/403."""
        challenge = {"WWW-Authenticate": 'Bearer realm="sandbox", Basic realm="sandbox"'}
        api_key = request.headers.get("X-Api-Key")
        auth = request.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        scheme, value = scheme.lower(), value.strip()
        with self.lock:
            modes = set(self.modes)
        if api_key is not None and "api_key" in modes:
            if hmac.compare_digest(api_key, API_KEY):
                return "api_key"
            if hmac.compare_digest(api_key, READONLY_API_KEY):
                raise _ApiError(403, "forbidden", "This API key is read-only")
            raise _ApiError(401, "unauthorized", "Invalid API key", challenge)
        if scheme == "basic" and "basic" in modes:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _ApiError(401, "unauthorized", "Malformed Basic credentials", challenge) from None
            if hmac.compare_digest(user, BASIC_USER) and hmac.compare_digest(password, BASIC_PASSWORD):
                return "basic"
            raise _ApiError(401, "unauthorized", "Invalid username or password", challenge)
        if scheme == "bearer" and ("bearer" in modes or "oauth2" in modes):
            if "bearer" in modes and hmac.compare_digest(value, STATIC_BEARER):
                return "bearer"
            if "oauth2" in modes:
                with self.lock:
                    issued = self.tokens.get(value)
                if issued is not None:
                    expires, scopes = issued
                    if time.monotonic() >= expires:
                        raise _ApiError(
                            401,
                            "invalid_token",
                            "The access token expired",
                            {"WWW-Authenticate": 'Bearer realm="sandbox", error="invalid_token"'},
                        )
                    if scope not in scopes:
                        raise _ApiError(
                            403,
                            "insufficient_scope",
                            f"Token lacks scope {scope}",
                            {
                                "WWW-Authenticate": 'Bearer realm="sandbox", error="insufficient_scope", '
                                f'scope="{scope}"'
                            },
                        )
                    return "oauth2"
            raise _ApiError(
                401,
                "invalid_token",
                "Invalid access token",
                {"WWW-Authenticate": 'Bearer realm="sandbox", error="invalid_token"'},
            )
        raise _ApiError(401, "unauthorized", "Missing or unsupported credentials", challenge)

    def _token(self, request: Request) -> Response:
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        with self.lock:
            enabled = "oauth2" in self.modes
            ttl = self.token_ttl
        if not enabled:
            raise _ApiError(400, "unauthorized_client", "OAuth2 is disabled on this target")
        form = request.form
        if form.get("grant_type") != "client_credentials":
            raise _ApiError(400, "unsupported_grant_type", "Only client_credentials is supported")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, client_secret = auth.username, auth.password
        if not (
            client_id
            and client_secret
            and hmac.compare_digest(client_id, CLIENT_ID)
            and hmac.compare_digest(client_secret, CLIENT_SECRET)
        ):
            return _json(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                401,
                {**no_store, "WWW-Authenticate": 'Basic realm="sandbox"'},
            )
        requested = set((form.get("scope") or DEFAULT_SCOPE).split())
        if not requested <= KNOWN_SCOPES:
            return _json({"error": "invalid_scope", "error_description": "Unknown scope"}, 400, no_store)
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (time.monotonic() + ttl, requested)
        return _json(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(ttl),
                "scope": " ".join(sorted(requested)),
            },
            200,
            no_store,
        )

    # --- API ----------------------------------------------------------------------------------
    def _create_post(self, request: Request) -> Response:
        mode = self._authenticate(request, "posts:write")
        if request.mimetype != "application/json":
            raise _ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
        try:
            body = json.loads(request.get_data(as_text=True))
        except ValueError:
            raise _ApiError(400, "invalid_json", "Body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "invalid_request", "Body must be a JSON object")
        errors: dict[str, str] = {}
        if not isinstance(body.get("title"), str) or not body["title"].strip():
            errors["title"] = "required non-empty string"
        image_url, media_id = body.get("image_url"), body.get("media_id")
        if image_url is None and media_id is None:
            errors["image_url"] = "image_url or media_id is required"
        if image_url is not None and not (isinstance(image_url, str) and image_url.startswith(("http://", "https://"))):
            errors["image_url"] = "must be an http(s) URL"
        if media_id is not None:
            with self.lock:
                known = media_id in self.media
            if not known:
                errors["media_id"] = "unknown media id"
        if errors:
            raise _ApiError(400, "validation_error", "Request body is invalid", details=errors)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self.lock:
            replay = self._replay(request, digest)
            if replay is not None:
                return replay
            post_id = f"post_{next(self._ids):06d}"
            post = {"id": post_id, "body": body, "created_at": _now(), "auth_mode": mode}
            self.posts[post_id] = post
            self._remember(request, digest, {"id": post_id})
            self.received.append(
                {
                    "kind": "post",
                    "id": post_id,
                    "method": request.method,
                    "path": request.path,
                    "headers": _visible_headers(request),
                    "auth_mode": mode,
                    "json": body,
                    "received_at": post["created_at"],
                }
            )
        return _json({"id": post_id}, 201, {"Location": f"/v1/posts/{post_id}"})

    def _list_posts(self, request: Request) -> Response:
        self._authenticate(request, "posts:write")
        external_id = request.args.get("external_id")
        with self.lock:
            posts = [
                p
                for p in self.posts.values()
                if p.get("deleted_at") is None and (external_id is None or p["body"].get("external_id") == external_id)
            ]
        return _json({"posts": [{"id": p["id"], **p["body"], "created_at": p["created_at"]} for p in posts]})

    def _get_post(self, request: Request, post_id: str) -> Response:
        self._authenticate(request, "posts:write")
        with self.lock:
            post = self.posts.get(post_id)
        if post is None or post.get("deleted_at") is not None:
            raise _ApiError(404, "not_found", "No such post")
        return _json({"id": post["id"], **post["body"], "created_at": post["created_at"]})

    def _delete_post(self, request: Request, post_id: str) -> Response:
        mode = self._authenticate(request, "posts:write")
        with self.lock:
            post = self.posts.get(post_id)
            if post is None or post.get("deleted_at") is not None:
                raise _ApiError(404, "not_found", "No such post")
            post["deleted_at"] = _now()
            for entry in self.received:
                if entry["kind"] == "post" and entry["id"] == post_id:
                    entry["deleted_at"] = post["deleted_at"]
            self.received.append(
                {
                    "kind": "delete",
                    "id": post_id,
                    "method": request.method,
                    "path": request.path,
                    "headers": _visible_headers(request),
                    "auth_mode": mode,
                    "received_at": post["deleted_at"],
                }
            )
        return Response(b"", status=204)

    def _upload_media(self, request: Request) -> Response:
        mode = self._authenticate(request, "media:write")
        if request.mimetype != "multipart/form-data":
            raise _ApiError(415, "unsupported_media_type", "Content-Type must be multipart/form-data")
        if request.content_length is not None and request.content_length > self.max_media_bytes + 64 * 1024:
            raise _ApiError(413, "payload_too_large", f"Media larger than {self.max_media_bytes} bytes")
        files = list(request.files.items(multi=True))
        if not files:
            raise _ApiError(400, "validation_error", "An image file part is required", details={"file": "missing"})
        field_name, part = files[0]
        data = part.read()
        if len(data) > self.max_media_bytes:
            raise _ApiError(413, "payload_too_large", f"Media larger than {self.max_media_bytes} bytes")
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height, fmt = img.width, img.height, img.format
                img.load()  # full decode: truncated files are rejected
        except Exception:
            raise _ApiError(400, "invalid_image", "The file part is not a decodable image") from None
        fields = {k: v for k, v in request.form.items()}
        digest = hashlib.sha256(data + json.dumps(fields, sort_keys=True).encode()).hexdigest()
        with self.lock:
            replay = self._replay(request, digest)
            if replay is not None:
                return replay
            media_id = f"media_{next(self._ids):06d}"
            info = {
                "id": media_id,
                "width": width,
                "height": height,
                "bytes": len(data),
                "content_type": part.mimetype or "application/octet-stream",
                "format": fmt,
            }
            self._remember(request, digest, info)
            self.media[media_id] = {**info, "sha256": hashlib.sha256(data).hexdigest()}
            self.received.append(
                {
                    "kind": "media",
                    "id": media_id,
                    "method": request.method,
                    "path": request.path,
                    "headers": _visible_headers(request),
                    "auth_mode": mode,
                    "field": field_name,
                    "filename": part.filename,
                    "form": fields,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    **info,
                    "received_at": _now(),
                }
            )
        return _json(info, 201, {"Location": f"/v1/media/{media_id}"})

    def _replay(self, request: Request, digest: str) -> Response | None:
        """Caller holds the lock. The original answer for a repeated Idempotency-Key."""
        key = request.headers.get("Idempotency-Key")
        if key is None or (request.path, key) not in self.idempotency:
            return None
        seen_digest, original = self.idempotency[(request.path, key)]
        if self.strict_idempotency and seen_digest != digest:
            raise _ApiError(422, "idempotency_key_reused", "Idempotency-Key was used with a different body")
        return _json(original, 200, {"Idempotent-Replayed": "true"})

    def _remember(self, request: Request, digest: str, answer: dict[str, Any]) -> None:
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            self.idempotency[(request.path, key)] = (digest, answer)

    # --- control ------------------------------------------------------------------------------
    def _ctl_received(self, request: Request) -> Response:
        with self.lock:
            return _json({"received": list(self.received)})

    def _ctl_requests(self, request: Request) -> Response:
        with self.lock:
            return _json({"requests": list(self.requests)})

    def _ctl_faults(self, request: Request) -> Response:
        with self.lock:
            if request.method == "DELETE":
                self.faults.clear()
            elif request.method == "POST":
                body = request.get_json(silent=True) or {}
                kind = str(body.get("kind", ""))
                if kind not in ("500", "429", "echo", "delay"):
                    return _json({"error": "kind must be 500, 429, echo or delay"}, 400)
                self.faults.append(
                    _Fault(
                        kind=kind,
                        remaining=int(body.get("count", 1)),
                        retry_after=int(body.get("retry_after", 1)),
                        delay=float(body.get("delay", 0.0)),
                        path_contains=body.get("path_contains"),
                    )
                )
            return _json({"faults": [f.__dict__ for f in self.faults]})

    def _ctl_auth(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        modes = body.get("modes", list(ALL_MODES))
        if not isinstance(modes, list) or not set(modes) <= set(ALL_MODES):
            return _json({"error": f"modes must be a subset of {list(ALL_MODES)}"}, 400)
        with self.lock:
            self.modes = set(modes)
            if "token_ttl" in body:
                self.token_ttl = float(body["token_ttl"])
            return _json({"modes": sorted(self.modes), "token_ttl": self.token_ttl})

    def _ctl_expire_tokens(self, request: Request) -> Response:
        with self.lock:
            self.tokens = {t: (0.0, scopes) for t, (_exp, scopes) in self.tokens.items()}
            return _json({"expired": len(self.tokens)})

    def _ctl_reset(self, request: Request) -> Response:
        self.reset()
        return _json({"reset": True})


def _visible_headers(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() not in _HIDDEN_HEADERS}
