"""X (API v2) publisher: OAuth 2.0 user token with refresh, media upload, alt text, post.

Steps (each saved in Progress right after it succeeds, reused on redelivery):
  "upload"   chunked uploads only: {id, media_key, expires_at, total_bytes, chunk_bytes,
             segments, processing?} -- `segments` counts the appended chunks, so a failed
             append resumes at the next segment instead of starting over; `processing` says
             finalize answered processing_info, so a delivery that stopped while X processed
             the media (at `max_status_polls` or the invocation's deadline) is followed by one
             that asks STATUS for the same media id instead of finalizing or uploading again.
  "media"    {id, media_key, expires_at, bytes}: the finalized media id (reused unless it
             expires within `media_expiry_margin_seconds`).
  "alt_text" {media_id}: alt text set on that media id.
  "final"    marker {media_id, media_key, text} (progress.mark_final) before POST /2/tweets.
  "post"     {id}: the created post (a later call answers it again without posting).
  "user_id"  the account's user id (GET /2/users/me), cached for find_post.

Upload: files up to `chunked_threshold_bytes` (default 1 MiB) go one-shot
(`POST /2/media/upload`, multipart `media` + `media_category=tweet_image`); larger ones
use initialize / append (`chunk_bytes`, default 1 MiB) / finalize, then poll
`GET /2/media/upload?command=STATUS` while finalize reports processing_info, waiting
`check_after_secs` (at most 30 s) between polls, never past the deadline
(`platforms/waiting.py`). Why 1 MiB: our variants are 2048 px JPEGs of roughly 0.3-1.5 MB;
below 1 MiB a single request is cheapest (one call instead of three or more, and a retry
re-sends under 1 MiB); above it a Lambda on a slow link risks a read timeout on one large
request, and chunks let a redelivery resume from the last appended segment. X's image limit
is 5 MB either way.

Tokens: OAuth 2.0 user tokens with single-use refresh tokens, kept current by
core/oauth.RotatingToken (refreshed proactively near `expires_at` and reactively on a 401,
after which the call is repeated once: a 401 means X did nothing). A refused refresh
(revoked, reused) is Outcome kind "auth".

Edits (`EDITS`): `delete_post` is `DELETE /2/tweets/{id}` -> 200 `{"data": {"deleted": true}}`
(openapi `deletePosts`; scopes `tweet.read tweet.write users.read`; 50 per 15 minutes per user,
x-api/fundamentals/rate-limits.mdx; "deleting any version deletes the entire chain",
edit-posts.mdx). An unknown or deleted id answers X's `resource-not-found` problem (404,
UNCONFIRMED for this endpoint): `POST_GONE`. Text is not edited: X's edit is
`POST /2/tweets` with `edit_options.previous_post_id` (openapi `CreatePostsEditOptions`), which
needs X Premium on the account, works only within 30 minutes of posting and for 5 edits
(x-api/fundamentals/edit-posts.mdx; the 3 October 2025 changelog says one hour: CONFLICT), and
makes a new post id. A photo's metadata is edited in Lightroom long after that window, and the
account's plan is unknown here, so `update_text` answers `EDIT_NOT_SUPPORTED` and the service
falls back to the target's choice. Whether an edit may change the media: UNCONFIRMED.

Outcomes beyond X's error classification (platforms/x/errors.py, which also makes X's 24-hour
post cap "deferred"): a timeout on any call but POST /2/tweets is "retryable" (repeating an
upload is harmless); POST /2/tweets answered "Your media IDs are invalid." (X dropped the media
early) forgets the media steps and is "retryable" (code x:media_expired).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any, cast

import requests

from socialomega.core import http
from socialomega.core.deadline import DeadlineReached
from socialomega.core.http import Outcome
from socialomega.core.oauth import RotatingToken, TokenRefreshFailed, TokenRefused
from socialomega.platforms import waiting
from socialomega.platforms.x.errors import ERRORS
from socialomega.platforms.x.settings import XSettings
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
from socialomega.publishers.captions import Caption, build_caption
from socialomega.publishers.platform import (
    StepFailed,
    guarded_session,
    logger,
    parse_time,
    unsafe_destination,
)
from socialomega.publishers.platform import json_body as _body

PERMALINK = "https://x.com/i/web/status/{id}"
MAX_SEGMENTS = 1000  # segment_index 0..999
EDITS = EditSupport(
    text=False,
    image=False,
    delete=True,
    source="docs.x.com x-api/fundamentals/edit-posts (edits: 30 minutes, 5 edits, a new post id each) and "
    "changelog 3 Oct 2025 (X Premium needed; 1 hour: CONFLICT); openapi deletePosts (DELETE /2/tweets/{id})",
)
_POST_ID = re.compile(r"^[0-9]{1,19}$")  # openapi PostId


class XPublisher:
    platform = "x"
    retry_is_safe = False  # POST /2/tweets has no idempotency key
    edits = EDITS

    def __init__(
        self,
        settings: XSettings,
        target: dict[str, Any],
        credentials: Credentials,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.target = target
        self.credentials = credentials
        self.session = session or guarded_session(settings)
        self.sleep = sleep
        self.clock = clock
        self.log = logger("x", settings.name)
        self.tokens = RotatingToken(
            credentials,
            settings.api_base_url + "/2/oauth2/token",
            client_auth="basic",
            # RotatingToken calls requests itself: its refresh fits the deadline through this.
            session=cast(requests.Session, http.DeadlineSession(self.session)),
            timeout=settings.call_timeout(),
            log=self.log,
            what=f"X target {settings.name!r}",
            margin_seconds=settings.refresh_margin_seconds,
            default_expires_in=7200,
            clock=lambda: self.clock(),
            errors=ERRORS,
        )
        # A 401 means X did nothing: refresh the token once and repeat the call.
        self.api = http.ApiClient(
            self.session,
            base_url=settings.api_base_url,
            errors=ERRORS,
            timeout=settings.call_timeout(),
            token=self._access_token,
            refresh=self._refresh,
            rejected=lambda response: response.status_code == 401,
        )

    # --- Publisher protocol -----------------------------------------------------------------------
    def publish(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> PublishResult:
        done = progress.get("post")
        if done and done.get("id"):
            return self._posted(str(done["id"]))
        self.tokens.forget()  # read the secret (cached by config) once per publish
        try:
            self._check_destination()
            caption = self._caption(request)
            media = self._media(request, images, progress)
            if caption.alt_text and (progress.get("alt_text") or {}).get("media_id") != media["id"]:
                self._api(
                    "POST",
                    "/2/media/metadata",
                    json={"id": media["id"], "metadata": {"alt_text": {"text": caption.alt_text}}},
                )
                progress.save("alt_text", {"media_id": media["id"]})
                self.log.info("alt_text_set", media_id=media["id"])
            body = {"text": caption.text, "media": {"media_ids": [media["id"]]}}
            self._access_token()  # a due refresh happens now, not between the marker and the post
            progress.mark_final({"media_id": media["id"], "media_key": media.get("media_key"), "text": caption.text})
            response = self._api("POST", "/2/tweets", json=body, final=True)
        except StepFailed as stop:
            if stop.outcome.code == "x:invalid-request" and "media IDs are invalid" in stop.outcome.message:
                # X forgot the media (expired early): nothing was posted, upload again next time
                progress.forget("media", "upload", "alt_text")
                stop = StepFailed(Outcome("retryable", stop.outcome.status, "x:media_expired", stop.outcome.message))
            self.log.warning("step_failed", kind=stop.outcome.kind, code=stop.outcome.code, status=stop.outcome.status)
            return PublishResult(stop.outcome)
        post_id = _dig(_body(response), "data", "id")
        if not post_id:
            return PublishResult(
                Outcome(
                    "unknown",
                    response.status_code,
                    "invalid_response",
                    "X accepted the post but the answer has no data.id",
                )
            )
        progress.save("post", {"id": str(post_id)})
        self.log.info("post_published", remote_id=str(post_id))
        return self._posted(str(post_id))

    def find_post(self, request: PublishRequest, progress: Progress) -> Lookup:
        marker = progress.final_marker
        if not marker or not (marker.get("media_key") or marker.get("media_id")):
            return Lookup.absent("no final marker: the post was never sent")
        self.tokens.forget()
        try:
            self._check_destination()
            user_id = progress.get("user_id")
            if not user_id:
                user_id = _dig(_body(self._api("GET", "/2/users/me")), "data", "id")
                if not user_id:
                    return Lookup.undecided("GET /2/users/me answered without data.id")
                progress.save("user_id", str(user_id))
            params: dict[str, Any] = {
                "max_results": 100,
                "tweet.fields": "created_at,attachments",
                "expansions": "attachments.media_keys",
                "exclude": "replies,retweets",
            }
            start = _start_time(marker.get("sent_at"), self.settings.lookup_slack_seconds)
            if start:
                params["start_time"] = start
            matches: list[str] = []
            for _ in range(self.settings.lookup_pages):
                body = _body(self._api("GET", f"/2/users/{user_id}/tweets", params=params))
                for post in body.get("data") or []:
                    keys = _dig(post, "attachments", "media_keys") or []
                    if _carries(keys, marker):
                        matches.append(str(post["id"]))
                token = _dig(body, "meta", "next_token")
                if not token:
                    break
                params["pagination_token"] = token
            else:
                if not matches:
                    return Lookup.undecided(f"no match in the newest {self.settings.lookup_pages} pages, more remain")
        except StepFailed as stop:
            return Lookup.failed("lookup failed", stop.outcome)
        if len(matches) == 1:
            progress.save("post", {"id": matches[0]})
            return Lookup.found(matches[0], PERMALINK.format(id=matches[0]))
        if matches:
            return Lookup.undecided(f"{len(matches)} posts carry media {marker.get('media_key')}")
        return Lookup.absent(f"no recent post carries media {marker.get('media_key')}")

    # --- Editor -----------------------------------------------------------------------------------
    def post_text(self, request: PublishRequest) -> str:
        return self._caption(request).text

    def update_text(self, remote_id: str, request: PublishRequest, text: str) -> PublishResult:
        return PublishResult(not_supported("editing a post's text", EDITS))

    def delete_post(self, remote_id: str) -> Outcome:
        if not _POST_ID.match(remote_id):
            return invalid_remote_id(remote_id, "an X post id")
        self.tokens.forget()  # read the secret (cached by config) once per call, as publish does
        log = self.log.bind(remote_id=remote_id)
        try:
            self._check_destination()
            log.info("edit_sending", method="DELETE")
            # Deleting twice changes nothing: not final, a timeout is retryable.
            response = self._api("DELETE", f"/2/tweets/{remote_id}")
        except StepFailed as stop:
            outcome = stop.outcome
            if outcome.status == 404 or outcome.code == "x:resource-not-found":
                outcome = gone(outcome)
            log.warning("edit_failed", method="DELETE", kind=outcome.kind, code=outcome.code, status=outcome.status)
            return outcome
        if _dig(_body(response), "data", "deleted") is not True:
            return Outcome("permanent", response.status_code, "x:not_deleted", "X answered data.deleted: false")
        log.info("post_deleted")
        return Outcome("ok", response.status_code)

    def _caption(self, request: PublishRequest) -> Caption:
        """What `publish` posts and `post_text` answers: one caption building for both."""
        return build_caption("x", request.metadata, self.target)

    # --- media ------------------------------------------------------------------------------------
    def _media(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> dict[str, Any]:
        saved: dict[str, Any] | None = progress.get("media")
        if saved and self._fresh(saved):
            return saved
        if saved:
            self.log.info("media_expired", media_id=saved.get("id"))
            progress.forget("media", "upload", "alt_text")
        data = images.read(request)
        if len(data) > self.settings.chunked_threshold_bytes:
            media = self._chunked(data, request.content_type or "image/jpeg", progress)
        else:
            response = self._api(
                "POST",
                "/2/media/upload",
                files={"media": (f"{request.asset_id}.jpg", data, request.content_type or "image/jpeg")},
                data={"media_category": self.settings.media_category},
            )
            media = self._media_record(_dig(_body(response), "data") or {}, len(data))
        progress.save("media", media)
        self.log.info("media_uploaded", media_id=media["id"], bytes=len(data))
        return media

    def _chunked(self, data: bytes, media_type: str, progress: Progress) -> dict[str, Any]:
        size = self.settings.chunk_bytes
        segments = math.ceil(len(data) / size)
        if segments > MAX_SEGMENTS:
            raise StepFailed(
                Outcome(
                    "permanent",
                    code="too_many_segments",
                    message=f"{len(data)} bytes need {segments} chunks; X allows {MAX_SEGMENTS}",
                )
            )
        upload = progress.get("upload")
        if not (
            upload
            and upload.get("total_bytes") == len(data)
            and upload.get("chunk_bytes") == size
            and self._fresh(upload)
        ):
            response = self._api(
                "POST",
                "/2/media/upload/initialize",
                json={
                    "media_type": media_type,
                    "total_bytes": len(data),
                    "media_category": self.settings.media_category,
                },
            )
            init = _dig(_body(response), "data") or {}
            if not init.get("id"):
                raise StepFailed(
                    Outcome("retryable", response.status_code, "invalid_response", "initialize without id")
                )
            upload = {
                **self._media_record(init, len(data)),
                "total_bytes": len(data),
                "chunk_bytes": size,
                "segments": 0,
            }
            progress.save("upload", upload)
        media_id = upload["id"]
        if upload.get("processing"):
            # Finalized by an earlier delivery that stopped while X processed it: ask where it is.
            try:
                final = self._status(media_id)
            except StepFailed as failed:
                if failed.outcome.kind != "permanent":
                    raise
                progress.forget("upload")  # X no longer knows this media id: upload again next time
                raise StepFailed(
                    Outcome("retryable", failed.outcome.status, "x:media_expired", failed.outcome.message)
                ) from None
        else:
            for index in range(int(upload.get("segments", 0)), segments):
                chunk = data[index * size : (index + 1) * size]
                self._api(
                    "POST",
                    f"/2/media/upload/{media_id}/append",
                    files={"media": ("chunk", chunk, "application/octet-stream")},
                    data={"segment_index": str(index)},
                )
                upload["segments"] = index + 1
                progress.save("upload", upload)
            response = self._api("POST", f"/2/media/upload/{media_id}/finalize")
            final = _dig(_body(response), "data") or {}
            if _processing(final):
                upload["processing"] = True
                progress.save("upload", upload)
        polls = 0
        while _processing(final):
            if polls >= self.settings.max_status_polls:
                raise StepFailed(
                    Outcome(
                        "retryable",
                        code="media_processing",
                        message=f"media {media_id} still processing after {polls} polls",
                    )
                )
            wait = min(float(final["processing_info"].get("check_after_secs") or 1), 30.0)
            if not waiting.pause(wait, self.sleep):
                raise StepFailed(waiting.stopped(f"media {media_id} is still processing", wait))
            polls += 1
            final = self._status(media_id)
        info = final.get("processing_info") or {}
        if info.get("state") == "failed":
            progress.forget("upload")
            error = info.get("error") or {}
            raise StepFailed(
                Outcome(
                    "permanent",
                    code="x:media_processing_failed",
                    message=str(error.get("message") or "X could not process the image")[:300],
                )
            )
        record = self._media_record(
            {**upload, **final, "media_key": final.get("media_key") or upload.get("media_key")}, len(data)
        )
        return record

    def _status(self, media_id: str) -> dict[str, Any]:
        response = self._api("GET", "/2/media/upload", params={"media_id": media_id, "command": "STATUS"})
        data: dict[str, Any] = _dig(_body(response), "data") or {}
        return data

    def _media_record(self, data: dict[str, Any], size: int) -> dict[str, Any]:
        if not data.get("id"):
            raise StepFailed(
                Outcome("retryable", code="invalid_response", message="X answered the upload without an id")
            )
        expires_after = data.get("expires_after_secs")
        expires_at = self.clock() + float(expires_after) if expires_after is not None else data.get("expires_at")
        return {"id": str(data["id"]), "media_key": data.get("media_key"), "expires_at": expires_at, "bytes": size}

    def _fresh(self, record: dict[str, Any]) -> bool:
        expires_at = record.get("expires_at")
        return bool(record.get("id")) and (
            expires_at is None or float(expires_at) > self.clock() + self.settings.media_expiry_margin_seconds
        )

    # --- HTTP and tokens --------------------------------------------------------------------------
    def _api(self, method: str, path: str, final: bool = False, **kwargs: Any) -> requests.Response:
        """One API call with the current access token (on 401 refreshed once and repeated).
        Raises StepFailed with the classified outcome on failure. Only the final call (POST
        /2/tweets) can end "unknown": repeating an upload, append, status or metadata call
        after a timeout is harmless (at worst an orphan media id)."""
        response, outcome = self.api.call(method, path, final=final, **kwargs)
        if response is None:
            # never echo the exception text: it may carry the request (and its headers)
            raise StepFailed(Outcome(outcome.kind, None, outcome.code, f"{method} {path}: {outcome.message}"))
        if not outcome.ok:
            raise StepFailed(outcome)
        return response

    def _access_token(self) -> str:
        return self._token(self.tokens.access_token)

    def _refresh(self, stale: str) -> str:
        self.log.info("token_rejected")
        return self._token(lambda: self.tokens.refresh(stale))

    @staticmethod
    def _token(get: Callable[[], str]) -> str:
        """Run a token step; its failures become this publisher's outcomes."""
        try:
            return get()
        except TokenRefused as exc:
            raise StepFailed(Outcome("auth", exc.status, f"x:token_{exc.error}", exc.description)) from None
        except TokenRefreshFailed as exc:
            raise StepFailed(Outcome(exc.kind, exc.status, f"x:{exc.code}", str(exc), exc.retry_after)) from None
        except DeadlineReached as exc:  # the refresh was not sent (self.tokens' DeadlineSession)
            raise StepFailed(http.deadline_outcome(f"token refresh: {exc}")) from None

    def _check_destination(self) -> None:
        unsafe = unsafe_destination(self.settings.api_base_url, self.settings.api_policy)
        if unsafe is not None:
            raise StepFailed(unsafe)

    def _posted(self, post_id: str) -> PublishResult:
        return PublishResult(Outcome("ok", 201), remote_id=post_id, remote_url=PERMALINK.format(id=post_id))


def build(target: dict[str, Any], credentials: Credentials, **kwargs: Any) -> XPublisher:
    """The X publisher for one target entry (`sleep`, `clock`, `session` for tests)."""
    return XPublisher(XSettings.from_target(target), target, credentials, **kwargs)


def _dig(body: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _processing(data: dict[str, Any]) -> bool:
    """X is still processing the media (finalize's or STATUS's `processing_info`)."""
    return (data.get("processing_info") or {}).get("state") in ("pending", "in_progress")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _carries(media_keys: list[Any], marker: dict[str, Any]) -> bool:
    """A post carries our media when its media_keys hold the saved key (or `<type>_<media id>`)."""
    key, media_id = marker.get("media_key"), marker.get("media_id")
    return any(str(k) == key or (media_id and str(k).split("_", 1)[-1] == str(media_id)) for k in media_keys)


def _start_time(sent_at: Any, slack_seconds: int) -> str | None:
    when = parse_time(sent_at)
    if when is None:
        return None
    return (when.astimezone(UTC) - timedelta(seconds=slack_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
