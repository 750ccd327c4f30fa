"""Client for the Adobe Lightroom (cloud) API: read the catalog, albums, assets, renditions.

Facts it relies on (see /work/shared/reference/platform-apis.md section 1):
- every call sends `X-API-Key: <client id>` and `Authorization: Bearer <user token>`
  (`/v2/health`: API key only);
- every JSON body, errors included, starts with `while (1) {}`; it is stripped with Adobe's own
  regex before parsing;
- lists carry `base` and RELATIVE `links.next.href`; the next page is
  `urljoin(base, links.next.href)` (RFC 3986 section 5.2); no `links.next` means the last page;
- 429 has an empty body; Adobe says retry 429 and 5xx with exponential backoff, at most 3
  retries. Whether Lightroom sends `Retry-After` is UNCONFIRMED: it is honoured when present.

One retry policy, in `_send`: up to `max_retries` (3) retries on 429/500/502/503/504, on
timeouts, on connection errors and on a 2xx answer that arrives broken (a body cut mid-stream,
`requests.ChunkedEncodingError`, or shorter than its Content-Length; JSON that does not
parse), with capped exponential backoff and full jitter, or exactly the `Retry-After` delay
when the server gives one (a `Retry-After` beyond `max_retry_after` is not slept on
in-process: the call fails fast as `LightroomUnavailable` so the caller can reschedule). Every
call this client makes is idempotent (GET/HEAD, and the rendition generation POST, which only
asks for renditions to exist), so retrying is safe.

Everything fits the invocation's deadline (core/deadline.py, `deadline.current()`): each
request's timeouts are the configured ones cut to what is left (`DeadlineReached` before
sending when too little is left); a retry whose wait would not leave time for the call after
it is not waited for (`DeadlineReached`); the wait for a `fullsize`/`2560` rendition being
generated stops at the deadline, or after `wait_timeout`, with `RenditionPending` (the poller
tries the photo again on its next poll; Lightroom keeps generating meanwhile).

Tokens: a fixed user token, or a `tokens` source (core/oauth.RotatingToken over the Adobe IMS
token endpoint) that refreshes the 24-hour IMS token before it expires; on a 401 the client
asks that source for a new token once and repeats the call. Tokens never reach a log line or an
exception message: only method, path and status are logged.
HTTP is plain `requests`; the token source lives in core/oauth.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from socialomega.core import deadline, egress, http, tracing
from socialomega.core import logging as solog
from socialomega.core.deadline import DeadlineReached
from socialomega.core.oauth import TokenRefreshFailed, TokenRefused
from socialomega.poller.sources import PhotoNotReady, SourceUnavailable

DEFAULT_BASE_URL = "https://lr.adobe.io/"
# Adobe IMS token endpoint (authenticate-customers guide; refresh: grant_type=refresh_token).
IMS_TOKEN_URL = "https://ims-na1.adobelogin.com/ims/token/v3"
# Adobe's regex (guides/calling-api; LrRequestor.mjs): /^while\s*\(\s*1\s*\)\s*{\s*}\s*/
_JSON_PREFIX = re.compile(r"^while\s*\(\s*1\s*\)\s*{\s*}\s*")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures of the transport, while sending or while reading a 2xx body: worth another try.
# (ChunkedEncodingError: the body was cut mid-stream, or short of its Content-Length, urllib3 2.)
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
T = TypeVar("T")
RENDITION_TYPES = ("thumbnail2x", "640", "1280", "2048", "2560", "fullsize")
ON_DEMAND_RENDITIONS = ("2560", "fullsize")


class LightroomError(Exception):
    """A Lightroom API error. `code`/`description`/`errors` come from the error body
    (`code` may be a string or a number on the real service)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: Any = None,
        description: str | None = None,
        errors: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.description = description
        self.errors = errors


class LightroomAuthError(LightroomError):
    """401 (missing, invalid or expired token) or 403 (bad API key, forbidden). Not retryable:
    the credentials must be refreshed."""


class LightroomNotFound(LightroomError):
    """404: the asset, album, rendition or catalog does not exist."""


class LightroomCatalogChanged(LightroomNotFound):
    """404 with `errors.catalog`: the catalog id changed; the cached id has been dropped and the
    next call fetches `/v2/catalog` again."""


class LightroomUnavailable(LightroomError, SourceUnavailable):
    """Retryable failure (429, 5xx, timeout, connection error, a 2xx answer cut short or not
    parsing) that persisted through all retries, or a `Retry-After` too long to wait for
    in-process."""

    def __init__(self, message: str, *, attempts: int, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.attempts = attempts
        self.retry_after = retry_after


class RenditionPending(LightroomError, PhotoNotReady):
    """A `fullsize`/`2560` rendition asked for is still being generated when the wait stopped
    (the invocation's deadline, or `wait_timeout`). Lightroom goes on generating it; a later
    call finds it (generated renditions are kept for a day)."""

    def __init__(self, message: str, *, waited: float) -> None:
        super().__init__(message, status=404)
        self.waited = waited


class _BrokenBody(Exception):
    """A 2xx answer whose body arrived incomplete or unreadable: retried like a 5xx."""


_BODY_ERRORS: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, _BrokenBody)


@dataclass
class AssetPage:
    """One page of an asset listing, and the `captured_before` that fetches it again (None: the
    first page), so a poll stopped part-way resumes at its page instead of the first."""

    captured_before: str | None
    assets: list[LightroomAsset]


@dataclass
class LightroomAsset:
    """The parts of a Lightroom asset document the pipeline uses. `version` is the asset's
    `updated` timestamp: it changes whenever the photo (or its metadata) is edited."""

    id: str
    version: str
    title: str
    description: str
    keywords: list[str]
    capture_date: str | None
    camera_make: str | None
    camera_model: str | None
    lens: str | None
    file_name: str | None
    width: int | None
    height: int | None
    subtype: str = "image"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> LightroomAsset:
        payload = doc.get("payload") or {}
        xmp = payload.get("xmp") or {}
        dc = xmp.get("dc") or {}
        tiff = xmp.get("tiff") or {}
        aux = xmp.get("aux") or {}
        source = payload.get("importSource") or {}
        develop = payload.get("develop") or {}
        subject = dc.get("subject") or {}
        if isinstance(subject, dict):  # Lightroom: a map keyword -> true
            keywords = [str(k) for k, v in subject.items() if v]
        elif isinstance(subject, list):
            keywords = [str(k) for k in subject]
        else:
            keywords = []
        capture = payload.get("captureDate")
        if capture == "0000-00-00T00:00:00":  # Lightroom's "undated"
            capture = None
        # Upright size after crop when developed; the imported original otherwise.
        width = _int(develop.get("croppedWidth")) or _int(source.get("originalWidth"))
        height = _int(develop.get("croppedHeight")) or _int(source.get("originalHeight"))
        return cls(
            id=str(doc["id"]),
            version=str(doc.get("updated") or doc.get("created") or ""),
            title=_text(dc.get("title")),
            description=_text(dc.get("description")),
            keywords=keywords,
            capture_date=capture,
            camera_make=_opt_str(tiff.get("Make")),
            camera_model=_opt_str(tiff.get("Model")),
            lens=_opt_str(aux.get("Lens")),
            file_name=_opt_str(source.get("fileName")),
            width=width,
            height=height,
            subtype=str(doc.get("subtype") or "image"),
            raw=doc,
        )

    def metadata(self) -> dict[str, Any]:
        """JSON-able metadata for the store and events. Location is deliberately left out:
        GPS never travels further than the raw asset document."""
        return {
            "title": self.title,
            "description": self.description,
            "keywords": list(self.keywords),
            "capture_date": self.capture_date,
            "camera": {"make": self.camera_make, "model": self.camera_model, "lens": self.lens},
            "file_name": self.file_name,
            "width": self.width,
            "height": self.height,
            "lightroom": {"asset_id": self.id, "updated": self.version},
        }


def strip_json_prefix(text: str) -> str:
    """Remove Lightroom's `while (1) {}` anti-JSON-hijacking prefix, if present."""
    return _JSON_PREFIX.sub("", text, count=1)


def parse_json_body(content: bytes) -> Any:
    text = strip_json_prefix(content.decode("utf-8"))
    return json.loads(text) if text.strip() else None


class TokenSource(Protocol):
    """Where a refreshable user token comes from (core/oauth.RotatingToken). `unsaved`: a
    renewed token could not be written back and the stored refresh token is spent."""

    unsaved: bool

    def access_token(self) -> str: ...

    def refresh(self, stale: str) -> str: ...


class LightroomClient:
    """Reads one Lightroom catalog.

    `base_url` is configuration (`https://lr.adobe.io/` in AWS, the sandbox locally); pagination
    links are followed only on its scheme, host and port. `sleep`
    and `rng` are injectable so tests can check the backoff without waiting.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        access_token: str = "",
        *,
        timeout: float | tuple[float, float] = (3.05, 30.0),
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        max_rendition_bytes: int = 200 * 1024 * 1024,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        catalog_id: str | None = None,
        tokens: TokenSource | None = None,
        allow_private_network: bool = False,
    ) -> None:
        if not api_key or not (access_token or tokens):
            raise ValueError("api_key and an access_token or a token source are required")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._api_key = api_key
        self._access_token = access_token
        self.tokens = tokens
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_rendition_bytes = max_rendition_bytes
        # Without a session, one that reaches the API host only (`allow_private_network`: the
        # local sandbox on loopback). The poller passes one that also reaches Adobe IMS.
        self.session = session or egress.session(
            egress.EgressPolicy.of(self.base_url, allow_private=allow_private_network)
        )
        self._sleep = sleep
        self._rng = rng
        self._catalog_id = catalog_id
        self._log = solog.get_logger(service="poller", component="lightroom")

    def __repr__(self) -> str:  # never show credentials
        return f"LightroomClient(base_url={self.base_url!r}, catalog_id={self._catalog_id!r})"

    def close(self) -> None:
        self.session.close()

    # --- account and catalog ------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._get_json(self._url("v2/health"), auth=False)

    def account(self) -> dict[str, Any]:
        return self._get_json(self._url("v2/account"))

    def catalog(self) -> dict[str, Any]:
        doc = self._get_json(self._url("v2/catalog"))
        self._catalog_id = str(doc["id"])
        return doc

    @property
    def catalog_id(self) -> str:
        if self._catalog_id is None:
            self.catalog()
        assert self._catalog_id is not None
        return self._catalog_id

    def _catalog_url(self, path: str = "") -> str:
        return self._url(f"v2/catalogs/{self.catalog_id}/{path}")

    # --- albums -------------------------------------------------------------------------------
    def albums(self, subtype: str | None = None, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Every album document of the catalog (all pages). `subtype` is `;`-separated."""
        params = _params(subtype=subtype, limit=limit)
        yield from self._paginate(self._catalog_url("albums"), params)

    def find_album(self, name: str, subtype: str | None = None) -> dict[str, Any] | None:
        """The first album whose name is exactly `name`, or None."""
        for album in self.albums(subtype):
            if (album.get("payload") or {}).get("name") == name:
                return album
        return None

    def album_assets(
        self, album_id: str, *, subtype: str | None = "image", limit: int | None = None
    ) -> Iterator[LightroomAsset]:
        """Every asset of an album (all pages, `embed=asset` so each item is a full document)."""
        for page in self.album_asset_pages(album_id, subtype=subtype, limit=limit):
            yield from page.assets

    def album_asset_pages(
        self,
        album_id: str,
        *,
        captured_before: str | None = None,
        subtype: str | None = "image",
        limit: int | None = None,
    ) -> Iterator[AssetPage]:
        """`album_assets` page by page, from the page `captured_before` fetches (None: the first)."""
        params = _params(embed="asset", subtype=subtype, limit=limit, captured_before=captured_before)
        for before, body in self._pages(self._catalog_url(f"albums/{album_id}/assets"), params):
            docs = [item.get("asset") or {} for item in body.get("resources") or []]
            yield AssetPage(before, [LightroomAsset.from_document(doc) for doc in docs if doc.get("id")])

    # --- assets -------------------------------------------------------------------------------
    def assets(
        self, updated_since: str | datetime | None = None, *, subtype: str | None = "image", limit: int | None = None
    ) -> Iterator[LightroomAsset]:
        """Every asset of the catalog, optionally only those updated since a timestamp."""
        for page in self.asset_pages(updated_since, subtype=subtype, limit=limit):
            yield from page.assets

    def asset_pages(
        self,
        updated_since: str | datetime | None = None,
        *,
        captured_before: str | None = None,
        subtype: str | None = "image",
        limit: int | None = None,
    ) -> Iterator[AssetPage]:
        """`assets` page by page, from the page `captured_before` fetches (None: the first)."""
        if isinstance(updated_since, datetime):
            updated_since = timestamp(updated_since)
        params = _params(updated_since=updated_since, subtype=subtype, limit=limit, captured_before=captured_before)
        for before, body in self._pages(self._catalog_url("assets"), params):
            yield AssetPage(before, [LightroomAsset.from_document(doc) for doc in body.get("resources") or []])

    def asset_document(self, asset_id: str) -> dict[str, Any]:
        return self._get_json(self._catalog_url(f"assets/{asset_id}"))

    def asset(self, asset_id: str) -> LightroomAsset:
        return LightroomAsset.from_document(self.asset_document(asset_id))

    # --- renditions ---------------------------------------------------------------------------
    def generate_renditions(self, asset_id: str, types: tuple[str, ...] = ("fullsize",)) -> dict[str, Any]:
        """Ask for on-demand renditions (`fullsize`, `2560`); Lightroom answers 202 at once and
        renders in the background."""
        bad = [t for t in types if t not in ON_DEMAND_RENDITIONS]
        if bad or not types:
            raise ValueError(f"only {ON_DEMAND_RENDITIONS} can be generated, got {types}")
        return self._send(
            "POST",
            self._catalog_url(f"assets/{asset_id}/renditions"),
            _json_or_empty,
            headers={"X-Generate-Renditions": ",".join(types)},
        )

    def rendition_exists(self, asset_id: str, rendition_type: str) -> bool:
        try:
            self._send("HEAD", self._rendition_url(asset_id, rendition_type), _nothing)
        except LightroomCatalogChanged:
            raise
        except LightroomNotFound:
            return False
        return True

    def rendition(
        self,
        asset_id: str,
        rendition_type: str = "2048",
        *,
        generate: bool = True,
        wait_timeout: float = 600.0,
        poll_initial: float = 1.0,
        poll_max: float = 30.0,
    ) -> bytes:
        """JPEG bytes of a rendition. For `fullsize`/`2560`, when `generate` is true and the
        rendition is missing (or invalid after an edit), request it and poll with HEAD, backing
        off exponentially (Adobe's guidance: for up to 10 minutes), for up to `wait_timeout`
        seconds and never past the invocation's deadline: then `RenditionPending`. A body cut
        short is fetched again (`_send`)."""
        if rendition_type not in RENDITION_TYPES:
            raise ValueError(f"unknown rendition type {rendition_type!r}; one of {RENDITION_TYPES}")
        if rendition_type in ON_DEMAND_RENDITIONS and generate and not self.rendition_exists(asset_id, rendition_type):
            self.generate_renditions(asset_id, (rendition_type,))
            waited, delay = 0.0, poll_initial
            while not self.rendition_exists(asset_id, rendition_type):
                what = f"rendition {rendition_type} of asset {asset_id} still being generated after {waited:.0f} s"
                if waited >= wait_timeout:
                    raise RenditionPending(what, waited=waited)
                # No wait the deadline would cut: no HEAD could follow it.
                if not deadline.current().allows_wait(delay):
                    raise RenditionPending(what + " at this invocation's deadline", waited=waited)
                self._sleep(delay)
                waited += delay
                delay = min(poll_max, delay * 2)
        what = f"rendition {rendition_type} of {asset_id}"
        return self._send(
            "GET", self._rendition_url(asset_id, rendition_type), lambda resp: self._image(what, resp), stream=True
        )

    def _image(self, what: str, resp: requests.Response) -> bytes:
        """A rendition's bytes, whole: a body shorter than its Content-Length is `_BrokenBody`."""
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.startswith("image/"):
            raise LightroomError(f"{what}: unexpected Content-Type {ctype!r}", status=resp.status_code)
        chunks, size = [], 0
        for chunk in resp.iter_content(chunk_size=256 * 1024):
            size += len(chunk)
            if size > self.max_rendition_bytes:
                raise LightroomError(f"{what} exceeds {self.max_rendition_bytes} bytes", status=resp.status_code)
            chunks.append(chunk)
        # urllib3 2 raises on a short body itself (ChunkedEncodingError); this holds whatever
        # the transport, unless a content coding makes the sizes differ.
        declared = resp.headers.get("Content-Length", "")
        encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if declared.isdigit() and not encoded and int(declared) != size:
            raise _BrokenBody(f"body cut at {size} of {declared} bytes")
        return b"".join(chunks)

    def _rendition_url(self, asset_id: str, rendition_type: str) -> str:
        return self._catalog_url(f"assets/{asset_id}/renditions/{rendition_type}")

    # --- HTTP ---------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def _headers(self, token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"X-API-Key": self._api_key, "Accept": "application/json, image/jpeg"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if extra:
            headers.update(extra)
        return headers

    def _get_json(self, url: str, params: dict[str, str] | None = None, *, auth: bool = True) -> dict[str, Any]:
        return self._send("GET", url, _json_object, params=params, auth=auth)

    def _paginate(self, url: str, params: dict[str, str] | None) -> Iterator[dict[str, Any]]:
        for _, body in self._pages(url, params):
            yield from body.get("resources") or []

    def _pages(self, url: str, params: dict[str, str] | None) -> Iterator[tuple[str | None, dict[str, Any]]]:
        """Each page's body, with the `captured_before` its request carried (the position that
        fetches it again: Lightroom pages by capture date, its next links carry the parameter)."""
        seen = {url}
        before = (params or {}).get("captured_before")
        while True:
            body = self._get_json(url, params)
            yield before, body
            href = ((body.get("links") or {}).get("next") or {}).get("href")
            if not href:
                return
            try:
                next_url = urljoin(str(body.get("base") or url), str(href))  # RFC 3986 section 5.2
            except ValueError:
                raise LightroomError("pagination link does not parse: refused") from None
            if egress.origin(next_url) is None or egress.origin(next_url) != egress.origin(self.base_url):
                # `base` and the href come from the response body: following them elsewhere
                # would hand the bearer token and API key to whoever wrote them.
                raise LightroomError(f"pagination link {_path(next_url)!r} leaves the API host: refused")
            if next_url in seen:
                raise LightroomError(f"pagination loop at {_path(next_url)}")
            seen.add(next_url)
            url, params = next_url, None  # the next href carries every query parameter
            found = parse_qs(urlsplit(next_url).query).get("captured_before")
            before = found[0] if found else None

    def _send(
        self,
        method: str,
        url: str,
        read: Callable[[requests.Response], T],
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        stream: bool = False,
    ) -> T:
        """The single retry policy (see module docstring): `read` of a 2xx response, which may
        raise `_BrokenBody` or a transport error while reading to have the call retried."""
        attempt = 0
        token = self._token(method, url) if auth else None
        refreshed = False
        while True:
            retry_after: float | None = None
            status: int | None = None
            try:
                resp = tracing.http_request(
                    self.session.request,
                    method,
                    url,
                    params=params,
                    headers=self._headers(token, headers),
                    timeout=deadline.current().timeout(self.timeout, f"{method} {_path(url)} not sent"),
                    allow_redirects=False,
                    stream=stream,
                )
            except egress.UnsafeDestination as exc:
                raise LightroomError(f"{method} {_path(url)}: destination refused: {exc}") from None
            except TRANSIENT_ERRORS as exc:
                outcome = type(exc).__name__
            else:
                status = resp.status_code
                if status < 300:  # 3xx is not followed (no credential forwarding): an error below
                    try:
                        return read(resp)
                    except _BODY_ERRORS as exc:
                        outcome = f"HTTP {status} {exc}" if isinstance(exc, _BrokenBody) else type(exc).__name__
                    finally:
                        resp.close()
                elif status == 401 and token is not None and self.tokens is not None and not refreshed:
                    # Expired or revoked: one new token, one repeat (a 401 changed nothing).
                    resp.close()
                    self._log.info("lightroom_token_rejected", method=method, path=_path(url))
                    token = self._token(method, url, stale=token)
                    refreshed = True
                    continue
                elif status not in RETRY_STATUSES:
                    raise self._error(method, url, resp)
                else:
                    outcome = str(status)
                    retry_after = http.retry_after_seconds(resp.headers.get("Retry-After"))
                    if attempt >= self.max_retries or (retry_after is not None and retry_after > self.max_retry_after):
                        err = self._error(method, url, resp)
                        resp.close()
                        raise LightroomUnavailable(
                            f"{method} {_path(url)}: HTTP {status} after {attempt + 1} attempts",
                            attempts=attempt + 1,
                            retry_after=retry_after,
                            status=status,
                            code=err.code,
                            description=err.description,
                            errors=err.errors,
                        )
                    resp.close()
            if attempt >= self.max_retries:
                raise LightroomUnavailable(
                    f"{method} {_path(url)}: {outcome} after {attempt + 1} attempts",
                    attempts=attempt + 1,
                    status=status,
                ) from None
            delay = self._backoff(attempt, retry_after)
            left = deadline.current()
            if not left.allows_wait(delay):
                # The retry would come after the deadline: stop now, nothing is lost.
                raise DeadlineReached(
                    f"{method} {_path(url)} ({outcome}): no time to retry in {delay:.1f} s", left.remaining()
                )
            self._log.warning(
                "lightroom_retry",
                method=method,
                path=_path(url),
                outcome=outcome,
                attempt=attempt + 1,
                delay_seconds=round(delay, 3),
            )
            self._sleep(delay)
            attempt += 1

    def _token(self, method: str, url: str, stale: str | None = None) -> str:
        """The bearer token to send; from the token source (refreshed if due or ``stale``)."""
        if self.tokens is None:
            return self._access_token
        try:
            return self.tokens.refresh(stale) if stale is not None else self.tokens.access_token()
        except TokenRefused as exc:
            raise LightroomAuthError(
                f"{method} {_path(url)}: Adobe IMS refused the refresh token "
                f"(HTTP {exc.status} {exc.error}); re-authorise the Lightroom secret",
                status=exc.status,
                code=exc.error,
                description=exc.description,
            ) from None
        except TokenRefreshFailed as exc:
            message = f"{method} {_path(url)}: Adobe IMS {exc} ({exc.code})"
            if exc.kind in ("retryable", "unknown", "deferred"):
                raise LightroomUnavailable(
                    message, attempts=1, status=exc.status, retry_after=exc.retry_after, code=exc.code
                ) from None
            raise LightroomError(message, status=exc.status, code=exc.code) from None  # e.g. a wrong ims_url

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        # Capped exponential backoff with full jitter.
        cap: float = min(self.backoff_max, self.backoff_base * (2**attempt))  # int ** int is Any to mypy
        return self._rng() * cap

    def _error(self, method: str, url: str, resp: requests.Response) -> LightroomError:
        try:
            body = parse_json_body(resp.content)
        except (UnicodeDecodeError, ValueError):
            body = None
        body = body if isinstance(body, dict) else {}
        # Spec and real captures use code/description; Adobe's prose shows error_code/message.
        code = body.get("code", body.get("error_code"))
        description = body.get("description", body.get("message"))
        errors = body.get("errors")
        status = resp.status_code
        message = f"{method} {_path(url)}: HTTP {status}"
        if code is not None or description:
            message += f" code={code} {description or ''}".rstrip()
        if errors:
            message += f" errors={errors}"
        kwargs: dict[str, Any] = {"status": status, "code": code, "description": description, "errors": errors}
        if status in (401, 403):
            return LightroomAuthError(message, **kwargs)
        if status == 404:
            if isinstance(errors, dict) and "catalog" in errors:
                self._catalog_id = None
                return LightroomCatalogChanged(message, **kwargs)
            return LightroomNotFound(message, **kwargs)
        return LightroomError(message, **kwargs)


def timestamp(when: datetime) -> str:
    """A datetime as Lightroom writes `updated` (UTC, microseconds, `Z`): such strings sort in time."""
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_object(resp: requests.Response) -> dict[str, Any]:
    """A 2xx JSON answer: one that does not parse arrived broken (`_BrokenBody`, retried)."""
    try:
        body = parse_json_body(resp.content)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BrokenBody(f"response is not JSON ({type(exc).__name__})") from None
    if not isinstance(body, dict):
        raise LightroomError(f"{_path(resp.url)}: expected a JSON object", status=resp.status_code)
    return body


def _json_or_empty(resp: requests.Response) -> dict[str, Any]:
    """The rendition generation answer (202): a JSON object, or nothing."""
    try:
        body = parse_json_body(resp.content)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BrokenBody(f"response is not JSON ({type(exc).__name__})") from None
    return body if isinstance(body, dict) else {}


def _nothing(resp: requests.Response) -> None:
    return None


def _params(**values: Any) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if v is not None}


def _path(url: str) -> str:
    """Path only, for logs and messages (queries carry no secret here, but stay short)."""
    return urlsplit(url).path


def _text(value: Any) -> str:
    """dc:title/description: plain strings in practice; tolerate an XMP lang-alt object
    ({"x-default": "..."}) or a list, since the exact type is UNCONFIRMED."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "x-default" in value:
            return str(value["x-default"])
        return str(next(iter(value.values()), ""))
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value)


def _opt_str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
