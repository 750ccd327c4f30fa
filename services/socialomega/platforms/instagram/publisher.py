"""Instagram publisher: Graph API content publishing for a professional account (Facebook Login,
graph.facebook.com).

Steps, each saved in `Progress` as soon as it succeeds, so a redelivery resumes where the last
one stopped:
  1. `GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config`: a used-up quota is
     an Outcome "deferred" (not a failure), retry_after = when the oldest post of the 24 h
     window leaves it (read from the account's recent media), else `quota_retry_seconds`.
  2. `POST /{ig-user-id}/media` with `image_url` (a presigned URL of the variant), `caption`
     and `alt_text` -> container id, saved as step "container". A container is not a post:
     an unknown outcome here is retried (the orphan expires after 24 h).
  3. `GET /{container-id}?fields=status_code,status` until FINISHED, bounded, with backoff and
     an injectable `sleep`. Still IN_PROGRESS at the bound -> retryable; at the invocation's
     deadline (`platforms/waiting.py`) -> retryable "deadline"; either way the saved container
     is polled again on the next delivery instead of creating another. ERROR -> permanent
     with the status text. EXPIRED (containers live 24 h) -> forgotten and recreated.
  4. `progress.mark_final({container_id, caption, ...})`, then
     `POST /{ig-user-id}/media_publish?creation_id=...` -> media id, saved as step "media_id".
  5. `GET /{media-id}?fields=permalink` -> the remote URL (best effort).

`find_post` (after an unknown media_publish outcome) reads the container's status_code
(PUBLISHED means it was published; FINISHED/ERROR/EXPIRED/IN_PROGRESS mean it was not) and
lists the account's recent media to find the post with the exact caption after `sent_at`.

Edits (`EDITS`): a published post's caption cannot be changed through the Graph API (IG Media's
update takes `comment_enabled` only: Meta SDK v25 `IGMedia.api_update`; Meta's Comment
Moderation guide lists `POST /{ig-media-id}` for enabling/disabling comments, nothing else) and
no endpoint replaces its image. `delete_post` is `DELETE /{ig-media-id}` -> `{"success": true}`
(Meta SDK `IGMedia.api_delete`, added October 2025; Meta's "Content Management" launch post of
3 December 2025), for Facebook Login (this publisher's host) only. The permission
`instagram_manage_contents` and the answer's shape come from third parties: UNCONFIRMED. An
unknown or deleted media id is Graph's code 100 subcode 33: `POST_GONE`.

The access token (secret key `access_token`) goes in an `Authorization: Bearer` header, which
Graph accepts like the `access_token` parameter, so it never appears in a URL (access logs,
proxies, exception messages that quote URLs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from socialomega.core import http
from socialomega.core.http import Outcome
from socialomega.platforms import waiting
from socialomega.platforms.instagram.settings import TOKEN_KEY, InstagramSettings, InvalidInstagramConfig
from socialomega.platforms.meta import errors as meta
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
    reread_token,
    secret_value,
    unsafe_destination,
)
from socialomega.publishers.platform import json_body as _body

PLATFORM = "instagram"
QUOTA_WINDOW = 24 * 3600
_RECREATE_SUBCODES = {2207020}  # "the media you are trying to access has expired"
EDITS = EditSupport(
    text=False,
    image=False,
    delete=True,
    source="Meta SDK v25 IGMedia.api_update (comment_enabled only) and IGMedia.api_delete (Oct 2025); "
    "delete with Facebook Login only and its permission instagram_manage_contents: third parties (UNCONFIRMED)",
)
_MEDIA_ID = re.compile(r"^[0-9]{1,32}$")


class InstagramPublisher:
    platform = PLATFORM
    retry_is_safe = False  # media_publish has no idempotency key: a repeat is a second post
    edits = EDITS

    def __init__(
        self,
        settings: InstagramSettings,
        target: dict[str, Any],
        credentials: Credentials,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.target = target
        self.credentials = credentials
        self.session = session or guarded_session(settings)
        self.sleep = sleep
        self.now = now
        self.log = logger(PLATFORM, target.get("name"))
        # Graph refuses a token (codes 102, 190) before acting on the call: re-read the secret
        # once (an operator may have rotated it) and repeat the call with a new token.
        self.api = http.ApiClient(
            self.session,
            base_url=f"{settings.api_base_url}/{settings.graph_version}/",
            errors=meta.ERRORS,
            timeout=settings.call_timeout(),
            token=self._token,
            refresh=reread_token(self._token, self.log),
            rejected=meta.token_rejected,
        )

    # --- Publisher protocol -------------------------------------------------------------------
    def publish(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> PublishResult:
        try:
            self._check_destination()
            media_id = progress.get("media_id")
            if media_id:  # published by an earlier delivery; only the permalink may be missing
                return self._done(str(media_id))
            caption = self._caption(request)
            self._check_quota()
            container_id = self._ready_container(request, images, progress, caption.text, caption.alt_text)
            progress.mark_final(
                {"container_id": container_id, "caption": caption.text, "ig_user_id": self.settings.ig_user_id}
            )
            self.log.info("step_sending", step="media_publish", container_id=container_id)
            response = self._call(
                "POST", f"{self.settings.ig_user_id}/media_publish", params={"creation_id": container_id}, final=True
            )
            outcome = self.api.classify(response)
            if not outcome.ok:
                if outcome.kind == "retryable" and (outcome.status or 500) >= 500:
                    # A server error on the final call may come after Instagram acted on it:
                    # only find_post can tell, so it is not simply retried.
                    outcome = Outcome("unknown", outcome.status, outcome.code, outcome.message, outcome.retry_after)
                elif _subcode(response) in _RECREATE_SUBCODES:
                    progress.forget("container")  # expired between polling and publishing
                    outcome = Outcome("retryable", outcome.status, outcome.code, outcome.message, 0.0)
                return PublishResult(outcome)
            media_id = _body(response).get("id")
            if not media_id:
                return PublishResult(
                    Outcome(
                        "unknown", response.status_code, "invalid_response", "media_publish answered without a media id"
                    )
                )
            progress.save("media_id", str(media_id))
            return self._done(str(media_id))
        except StepFailed as failed:
            self.log.info("step_failed", kind=failed.outcome.kind, code=failed.outcome.code)
            return PublishResult(failed.outcome)

    def find_post(self, request: PublishRequest, progress: Progress) -> Lookup:
        marker = progress.final_marker
        if not marker or not marker.get("container_id"):
            return Lookup.absent("nothing was sent to media_publish")
        try:
            self._check_destination()
        except StepFailed as failed:
            return Lookup.undecided(failed.outcome.message)
        container_id, caption = str(marker["container_id"]), str(marker.get("caption", ""))
        status = self._container_status_code(container_id)
        matches, complete = self._recent_with_caption(caption, parse_time(marker.get("sent_at")))
        self.log.info("find_post_searched", container_status=status, matches=len(matches or []), complete=complete)
        if status is not None and status != "PUBLISHED":
            # The container still exists and was not published: media_publish did not act.
            return Lookup.absent(f"container status is {status}")
        if matches is None:
            return Lookup("unavailable", reason="listing the account's recent media failed")
        if len(matches) == 1:
            found = matches[0]
            return Lookup.found(str(found["id"]), found.get("permalink"))
        if len(matches) > 1:
            return Lookup.undecided(f"{len(matches)} recent posts carry the same caption")
        if status == "PUBLISHED":
            return Lookup.undecided("the container is PUBLISHED but the post is not listed yet")
        if not complete:
            return Lookup.undecided("the recent media listing was cut short")
        # Container status unreadable, and the complete listing after sent_at has no such post.
        return Lookup.absent("no recent post with this caption")

    # --- Editor -------------------------------------------------------------------------------
    def post_text(self, request: PublishRequest) -> str:
        return self._caption(request).text

    def update_text(self, remote_id: str, request: PublishRequest, text: str) -> PublishResult:
        return PublishResult(not_supported("changing a published post's caption", EDITS))

    def delete_post(self, remote_id: str) -> Outcome:
        if not _MEDIA_ID.match(remote_id):
            return invalid_remote_id(remote_id, "an Instagram media id")
        try:
            self._check_destination()
        except StepFailed as failed:
            return failed.outcome
        log = self.log.bind(remote_id=remote_id)
        log.info("edit_sending", method="DELETE")
        # Deleting twice changes nothing: not final, a timeout is retryable.
        response, outcome = self.api.call("DELETE", remote_id, final=False)
        if outcome.ok and response is not None and _body(response).get("success") is False:
            outcome = Outcome("permanent", response.status_code, "meta:not_done", "Graph answered success: false")
        if not outcome.ok:
            if outcome.code == "meta:100/33":  # no such media (deleted, unknown, not this account's)
                outcome = gone(outcome)
            log.warning("edit_failed", method="DELETE", kind=outcome.kind, code=outcome.code, status=outcome.status)
            return outcome
        log.info("post_deleted")
        return outcome

    def _caption(self, request: PublishRequest) -> Caption:
        """What `publish` posts and `post_text` answers: one caption building for both."""
        return build_caption(PLATFORM, request.metadata, self.target)

    # --- steps --------------------------------------------------------------------------------
    def _check_quota(self) -> None:
        response = self._call(
            "GET", f"{self.settings.ig_user_id}/content_publishing_limit", params={"fields": "quota_usage,config"}
        )
        self._require_ok(response)
        entries = _body(response).get("data") or [{}]
        entry = entries[0] if isinstance(entries[0], dict) else {}
        usage = entry.get("quota_usage")
        config = entry.get("config") or {}
        total = config.get("quota_total")
        if not isinstance(usage, int) or not isinstance(total, int):
            return  # unreadable: media_publish enforces it anyway (code 9 / 2207042 -> deferred)
        if usage >= total:
            wait = self._quota_wait(int(config.get("quota_duration") or QUOTA_WINDOW))
            self.log.info("quota_used_up", quota_usage=usage, quota_total=total, retry_after=wait)
            raise StepFailed(
                Outcome(
                    "deferred",
                    response.status_code,
                    "ig:quota",
                    f"Instagram publishing quota used up ({usage}/{total} in 24 h)",
                    wait,
                )
            )

    def _quota_wait(self, window: int) -> float:
        """Seconds until the oldest post of the current window leaves it. The listing includes
        posts made outside the API, so this may be early (then we are deferred again)."""
        response = self._call(
            "GET", f"{self.settings.ig_user_id}/media", params={"fields": "id,timestamp", "limit": "100"}
        )
        if not self.api.classify(response).ok:
            return self.settings.quota_retry_seconds
        now = self.now()
        stamps = [
            t
            for t in (parse_time(m.get("timestamp")) for m in _body(response).get("data") or [])
            if t is not None and now - t < timedelta(seconds=window)
        ]
        if not stamps:
            return self.settings.quota_retry_seconds
        return max(60.0, (min(stamps) + timedelta(seconds=window) - now).total_seconds())

    def _ready_container(
        self, request: PublishRequest, images: ImageAccess, progress: Progress, caption: str, alt_text: str
    ) -> str:
        """A FINISHED container, reusing the saved one; an EXPIRED one is recreated once."""
        for _ in range(2):
            saved = progress.get("container")
            container_id = saved.get("id") if isinstance(saved, dict) else None
            if not container_id:
                container_id = self._create_container(request, images, caption, alt_text)
                progress.save("container", {"id": container_id, "created_at": self.now().isoformat()})
            status = self._wait_finished(container_id)
            if status == "FINISHED":
                return container_id
            self.log.info("container_expired", container_id=container_id)
            progress.forget("container")
        raise StepFailed(Outcome("retryable", None, "ig:container_expired", "new container expired at once", 60.0))

    def _create_container(self, request: PublishRequest, images: ImageAccess, caption: str, alt_text: str) -> str:
        data = {"image_url": images.url(request, self.settings.image_url_ttl_seconds), "caption": caption}
        if alt_text:
            data["alt_text"] = alt_text
        self.log.info("step_sending", step="container", caption_length=len(caption))
        response = self._call("POST", f"{self.settings.ig_user_id}/media", data=data)
        self._require_ok(response)
        container_id = _body(response).get("id")
        if not container_id:
            raise StepFailed(
                Outcome(
                    "retryable", response.status_code, "invalid_response", "container creation answered without an id"
                )
            )
        return str(container_id)

    def _wait_finished(self, container_id: str) -> str:
        """FINISHED or EXPIRED; raises StepFailed for ERROR, call failures, the polling bound and
        the deadline (a wait it leaves no time for, or a status call it leaves no time to send)."""
        s = self.settings
        delay = s.status_poll_initial_delay
        for attempt in range(s.status_poll_attempts):
            response = self._call("GET", container_id, params={"fields": "status_code,status"})
            if _subcode(response) in _RECREATE_SUBCODES:
                return "EXPIRED"
            self._require_ok(response)
            body = _body(response)
            code = body.get("status_code")
            self.log.info("container_status", container_id=container_id, status_code=code, attempt=attempt + 1)
            if code in ("FINISHED", "EXPIRED"):
                return str(code)
            if code == "ERROR":
                raise StepFailed(
                    Outcome(
                        "permanent",
                        response.status_code,
                        "ig:container_error",
                        str(body.get("status") or "container processing failed")[:300],
                    )
                )
            if code == "PUBLISHED":
                # Only an earlier media_publish can have done this; find_post reconciles it.
                raise StepFailed(
                    Outcome(
                        "unknown",
                        response.status_code,
                        "ig:container_published",
                        "the container was already published by an earlier attempt",
                    )
                )
            if code != "IN_PROGRESS":
                raise StepFailed(
                    Outcome(
                        "retryable",
                        response.status_code,
                        "invalid_response",
                        f"unexpected container status_code {code!r}",
                    )
                )
            if attempt + 1 < s.status_poll_attempts:
                if not waiting.pause(delay, self.sleep):
                    raise StepFailed(waiting.stopped(f"container {container_id} is still IN_PROGRESS", delay))
                delay = min(s.status_poll_max_delay, max(delay * 2, 0.01))
        raise StepFailed(
            Outcome(
                "retryable",
                None,
                "ig:container_in_progress",
                "the container is still IN_PROGRESS; polling resumes on the next delivery",
                s.in_progress_retry_seconds,
            )
        )

    def _done(self, media_id: str) -> PublishResult:
        permalink = None
        response = self._call("GET", media_id, params={"fields": "permalink"}, quiet=True)
        if response is not None and self.api.classify(response).ok:
            permalink = _body(response).get("permalink")
        self.log.info("post_published", remote_id=media_id, permalink=permalink)
        return PublishResult(Outcome("ok", 200), remote_id=media_id, remote_url=permalink)

    # --- lookups ------------------------------------------------------------------------------
    def _container_status_code(self, container_id: str) -> str | None:
        response = self._call("GET", container_id, params={"fields": "status_code"}, quiet=True)
        if response is None or not self.api.classify(response).ok:
            return None
        code = _body(response).get("status_code")
        return str(code) if code else None

    def _recent_with_caption(self, caption: str, since: datetime | None) -> tuple[list[dict[str, Any]] | None, bool]:
        """(posts with exactly this caption after `since`, whether the listing reached `since`).
        None when the listing failed. Without `since`, only the first pages are read."""
        skew = timedelta(minutes=2)  # our clock vs Meta's
        params: dict[str, str] = {"fields": "id,caption,timestamp,permalink", "limit": "50"}
        matches: list[dict[str, Any]] = []
        for _ in range(self.settings.lookup_pages):
            response = self._call("GET", f"{self.settings.ig_user_id}/media", params=params, quiet=True)
            if response is None or not self.api.classify(response).ok:
                return None, False
            body = _body(response)
            page = [m for m in body.get("data") or [] if isinstance(m, dict)]
            reached = False
            for media in page:
                stamp = parse_time(media.get("timestamp"))
                if since is not None and stamp is not None and stamp < since - skew:
                    reached = True
                    break
                if media.get("caption") == caption:
                    matches.append(media)
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            has_next = bool((body.get("paging") or {}).get("next"))
            if reached or not has_next or not after:
                return matches, reached or not has_next
            params = {**params, "after": after}
        return matches, False

    # --- HTTP ---------------------------------------------------------------------------------
    def _check_destination(self) -> None:
        unsafe = unsafe_destination(self.settings.api_base_url, self.settings.egress_policy)
        if unsafe is not None:
            raise StepFailed(unsafe)

    def _token(self, fresh: bool = False) -> str:
        return secret_value(self.credentials, TOKEN_KEY, self.target.get("name"), InvalidInstagramConfig, fresh=fresh)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        final: bool = False,
        quiet: bool = False,
    ) -> Any:
        """One Graph call. Failures to connect raise StepFailed (or return None when `quiet`).
        Only the `final` call (media_publish) can end "unknown": a timed-out read or container
        creation is simply redone (at worst an orphan container, which expires in 24 h)."""
        response, outcome = self.api.call(method, path, final=final, params=params, data=data)
        if response is None:
            if quiet:
                return None
            raise StepFailed(outcome)
        served = response.headers.get("facebook-api-version")
        if served and served != self.settings.graph_version:
            self.log.warning("api_version_upgraded", pinned=self.settings.graph_version, served=served)
        if meta.usage_percent(response.headers) >= 90:
            self.log.warning("rate_usage_high", usage=meta.usage_percent(response.headers))
        return response

    def _require_ok(self, response: requests.Response) -> None:
        outcome = self.api.classify(response)
        if not outcome.ok:
            raise StepFailed(outcome)


def _subcode(response: requests.Response) -> Any:
    return meta.error_codes(response)[1]


def build(
    target: dict[str, Any],
    credentials: Credentials,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> InstagramPublisher:
    return InstagramPublisher(InstagramSettings.from_target(target), target, credentials, session=session, sleep=sleep)
