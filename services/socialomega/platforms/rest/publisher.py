"""Generic REST publisher: endpoint, method, headers, auth and body from configuration.

Body: a Jinja2 template (sandboxed) rendered over the photo's metadata into JSON, or a
multipart form carrying the image. Every request carries an `Idempotency-Key` header
(deterministic per asset, version and target) so a target that honours it makes a retry
after a timeout safe; for targets that ignore it, the publication claim still prevents
a second post on redelivery of a message whose outcome is known.

Edits: a generic target documents nothing, so what it allows is its configuration. Its text is
never changed (no update endpoint is configurable: `update_text` answers `EDIT_NOT_SUPPORTED`);
with `endpoint.delete_url` set (`{remote_id}` where the post's id goes), `delete_post` sends
`DELETE` there with the post's headers and auth: 2xx is deleted, 404 or 410 `POST_GONE`.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from socialomega.core import egress, http
from socialomega.core.http import Outcome
from socialomega.core.logging import register_secret_values
from socialomega.planning.keywords import plan_from, publishing_keywords
from socialomega.platforms.rest.settings import TOKEN_TIMEOUT, InvalidTargetConfig, RestEndpoint, from_target
from socialomega.publishers.base import (
    Credentials,
    EditSupport,
    ImageAccess,
    Lookup,
    Progress,
    PublishRequest,
    PublishResult,
    gone,
    invalid_remote_id,
    not_supported,
)


def _as_json(value: Any) -> Any:
    """Every `{{ expression }}` is written as a JSON value: a title holding `", "admin": true`
    stays inside its string, whether or not the template says `| tojson` (whose output, already
    JSON, is kept as it is). Text around the expressions is the operator's own JSON."""
    if isinstance(value, Markup):
        return value
    return Markup(json.dumps(value, ensure_ascii=False))


_templates = SandboxedEnvironment(autoescape=False, finalize=_as_json)


def render_body(template: str, context: dict[str, Any]) -> dict[str, Any]:
    """Render the JSON body template; a template that does not yield a JSON object is a config error."""
    text = _templates.from_string(template).render(**context)
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidTargetConfig(
            f"body_template did not render valid JSON (every {{{{ value }}}} is written as "
            f"JSON: do not put quotes around it): {exc}"
        ) from None
    if not isinstance(body, dict):
        raise InvalidTargetConfig("body_template must render a JSON object")
    return body


def template_context(request: PublishRequest, image_url: str | None) -> dict[str, Any]:
    meta = request.metadata
    return {
        "title": meta.get("title") or "",
        "description": meta.get("description") or "",
        # The photographer's so:caption for this target wins (planning/keywords.py).
        "caption": plan_from(meta).caption_for(request.target, request.platform)
        or meta.get("description")
        or meta.get("title")
        or "",
        "keywords": publishing_keywords(meta.get("keywords") or []),  # never the so: planning keywords
        "camera": meta.get("camera") or "",
        "lens": meta.get("lens") or "",
        "date": meta.get("capture_date") or "",
        "image_url": image_url,
        "width": request.width,
        "height": request.height,
        "asset_id": request.asset_id,
        "version": request.version,
        "target": request.target,
    }


class _TokenCache:
    """OAuth2 client-credentials tokens, reused until shortly before they expire."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            hit = self._tokens.get(key)
        return hit[0] if hit and hit[1] > time.monotonic() else None

    def put(self, key: str, token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + max(0.0, expires_in - 30))


_tokens = _TokenCache()


class AuthFailed(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class RestPublisher:
    platform = "rest"

    def __init__(
        self,
        endpoint: RestEndpoint,
        secret: dict[str, Any],
        session: requests.Session | None = None,
        idempotent_retries: bool = True,
    ) -> None:
        self.endpoint = endpoint
        self.secret = secret
        self._session = session
        self._api: http.ApiClient | None = None
        # Repeating the call is safe only if the target honours the idempotency header; the
        # target's `idempotent_retries: false` says it does not.
        self.retry_is_safe = bool(endpoint.idempotency_header) and idempotent_retries
        self.edits = EditSupport(
            text=False,
            image=False,
            delete=endpoint.delete_url is not None,
            source="the target's configuration: endpoint.delete_url"
            + (" is set" if endpoint.delete_url else " is not set; no update endpoint is configurable"),
        )

    @property
    def session(self) -> Any:
        """The guarded session of this endpoint (built on first use, after `publish` has turned an
        unsafe url or token_url into its outcome)."""
        if self._session is None:
            self._session = egress.session(self.endpoint.egress_policy())
        return self._session

    @property
    def api(self) -> http.ApiClient:
        """The endpoint's calls: its auth headers are the caller's (no bearer hook to refresh)."""
        if self._api is None:
            self._api = http.ApiClient(self.session, timeout=self.endpoint.call_timeout())
        return self._api

    def find_post(self, request: PublishRequest, progress: Progress) -> Lookup:
        return Lookup.undecided("a generic REST target offers no way to look a post up")

    def publish(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> PublishResult:
        ep = self.endpoint
        try:
            ep.egress_policy()  # refuses an unsafe url or token_url before any call
            headers = {**ep.headers, **self._auth_headers()}
        except egress.UnsafeDestination as exc:
            return PublishResult(Outcome("permanent", code="unsafe_destination", message=str(exc)))
        except AuthFailed as exc:
            return PublishResult(exc.outcome)
        if ep.idempotency_header:
            headers[ep.idempotency_header] = request.idempotency_key
        kwargs: dict[str, Any] = {"headers": headers}
        if ep.mode == "json":
            url = images.url(request, ep.image_url_ttl_seconds)
            kwargs["json"] = render_body(ep.body_template, template_context(request, url))
        else:
            fields = render_body(ep.body_template, template_context(request, None))
            kwargs["data"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items() if v is not None}
            kwargs["files"] = {ep.image_field: (f"{request.asset_id}.jpg", images.read(request), request.content_type)}
        if not self.retry_is_safe:
            progress.mark_final({"idempotency_key": request.idempotency_key})
        response, outcome = self.api.call(ep.method, ep.url, **kwargs)
        if response is None or not outcome.ok:
            return PublishResult(outcome)
        return self._result(response)

    # --- Editor -----------------------------------------------------------------------------------
    def post_text(self, request: PublishRequest) -> str:
        """The body as `publish` renders it for this request, without the image URL (a fresh
        presigned link each time): JSON with sorted keys. The target posts no single text; this
        is what it would receive, so it differs between versions whose body differs."""
        body = render_body(self.endpoint.body_template, template_context(request, None))
        return json.dumps(body, sort_keys=True, ensure_ascii=False)

    def update_text(self, remote_id: str, request: PublishRequest, text: str) -> PublishResult:
        return PublishResult(not_supported("changing a post", self.edits))

    def delete_post(self, remote_id: str) -> Outcome:
        ep = self.endpoint
        if ep.delete_url is None:
            return not_supported("deleting a post", self.edits)
        if not remote_id or len(remote_id) > 512:
            return invalid_remote_id(remote_id, "a post id (1 to 512 characters)")
        try:
            ep.egress_policy()  # refuses an unsafe delete_url or token_url before any call
            headers = {**ep.headers, **self._auth_headers()}
        except egress.UnsafeDestination as exc:
            return Outcome("permanent", code="unsafe_destination", message=str(exc))
        except AuthFailed as exc:
            return exc.outcome
        # Deleting twice changes nothing: not final, a timeout is retryable.
        _response, outcome = self.api.call("DELETE", ep.delete_url_for(remote_id), final=False, headers=headers)
        if outcome.status in (404, 410):
            return gone(outcome)
        return outcome

    def _result(self, response: requests.Response) -> PublishResult:
        try:
            body = response.json()
        except ValueError:
            return PublishResult(
                Outcome(
                    "unknown",
                    response.status_code,
                    "invalid_response",
                    "target accepted the post but answered without JSON",
                )
            )
        remote_id = _dig(body, self.endpoint.id_field)
        if remote_id in (None, ""):
            return PublishResult(
                Outcome(
                    "unknown", response.status_code, "invalid_response", f"response has no {self.endpoint.id_field!r}"
                )
            )
        url = _dig(body, self.endpoint.url_field) if self.endpoint.url_field else None
        return PublishResult(
            Outcome("ok", response.status_code), remote_id=str(remote_id), remote_url=str(url) if url else None
        )

    def _auth_headers(self) -> dict[str, str]:
        auth = self.endpoint.auth
        if auth.type == "none":
            return {}
        if auth.type == "api_key":
            return {auth.header: self._secret("api_key")}
        if auth.type == "bearer":
            return {"Authorization": f"Bearer {self._secret('token')}"}
        if auth.type == "basic":
            basic = requests.auth._basic_auth_str(self._secret("username"), self._secret("password"))
            return {"Authorization": basic}
        return {"Authorization": f"Bearer {self._client_credentials_token()}"}

    def _client_credentials_token(self) -> str:
        auth = self.endpoint.auth
        if not auth.token_url:
            raise InvalidTargetConfig("oauth2_client_credentials needs auth.token_url")
        cache_key = f"{auth.token_url}|{self._secret('client_id')}"
        cached = _tokens.get(cache_key)
        if cached:
            return cached
        data = {"grant_type": "client_credentials"}
        if auth.scope:
            data["scope"] = auth.scope
        response, outcome = self.api.call(
            "POST",
            auth.token_url,
            data=data,
            timeout=TOKEN_TIMEOUT,
            auth=(self._secret("client_id"), self._secret("client_secret")),
        )
        if response is None:
            raise AuthFailed(outcome)
        if not outcome.ok:
            raise AuthFailed(
                Outcome(outcome.kind, outcome.status, "token_" + outcome.code, outcome.message, outcome.retry_after)
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            expires_in = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise AuthFailed(
                Outcome(
                    "retryable",
                    response.status_code,
                    "token_invalid_response",
                    "the token endpoint answered without an access_token",
                )
            ) from None
        register_secret_values(token)
        _tokens.put(cache_key, token, expires_in)
        return token

    def _secret(self, name: str) -> str:
        value = self.secret.get(name)
        if not value:
            raise InvalidTargetConfig(f"the target's secret has no {name!r}")
        return str(value)


def _dig(body: Any, path: str | None) -> Any:
    for part in (path or "").split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def build(target: dict[str, Any], credentials: Credentials) -> RestPublisher:
    """The REST publisher for one target entry; the secret is read now unless `auth.type` is "none"."""
    endpoint = from_target(target)
    secret = credentials.current() if endpoint.auth.type != "none" else {}
    return RestPublisher(endpoint, secret, idempotent_retries=target.get("idempotent_retries", True))
