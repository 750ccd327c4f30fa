"""LinkedIn image posts through the versioned REST API (Images API + Posts API).

Steps, each saved with `progress.save` right after it succeeds so a redelivery resumes:
  1. "image":    POST /rest/images?action=initializeUpload -> {urn, upload_url, expires_at_ms}.
                 Redone when the upload URL expired (or is about to) before the bytes were sent.
  2. "uploaded": PUT the variant's bytes to the upload URL (SSRF-checked against the LinkedIn
                 upload hosts plus the configured API host).
  3. wait (bounded, injected sleep) until GET /rest/images/{urn} says AVAILABLE; not saved,
     it is a read. At the bound or the invocation's deadline (`platforms/waiting.py`) the
     publish is retryable, and the next delivery waits for the same image again.
  4. `progress.mark_final({"image_urn", "author"})`, then POST /rest/posts -> 201 with the post
     URN in `x-restli-id`; the permalink is https://www.linkedin.com/feed/update/<urn>/.
`find_post` lists the author's recent posts (finder q=author, newest first) and matches
`content.media.id` against the image URN of the marker: an image URN is used by one post only.

Every API call carries `Linkedin-Version` (pinned per target, `linkedin_version`) and
`X-Restli-Protocol-Version: 2.0.0`. LinkedIn sends no Retry-After: a 429 without one is left to
the queue's backoff, and a 429 for a DAY limit is deferred to midnight UTC (errors.py).

Alt text goes in `content.media.altText`. UNCONFIRMED: the Posts API reference we could read did
not show the MediaContent fields; LinkedIn's MultiImage content uses `altText` per image and
third-party clients of /rest/posts send `altText`, while some older code sends `title` (a media
title, not alt text). We send `altText` only; the sandbox fake records `altText` as the alt text.

Edits (`EDITS`; LinkedIn's Posts API "Update Posts"/"Delete Posts", as transcribed in its
Postman collection, api-evangelist/linkedin `linkedin-use-cases-posts-api.opencollection.json`):
  update_text: POST /rest/posts/{encoded urn} with `X-RestLi-Method: PARTIAL_UPDATE` and
    `{"patch": {"$set": {"commentary": <text>}}}`; success 204 (UNCONFIRMED: clients accept 2xx).
    Updatable: commentary, contentCallToActionLabel, contentLandingPage, lifecycleState,
    adContext, reshareContext: the media (content) is not, so an image is never replaced.
  delete_post: DELETE /rest/posts/{encoded urn} -> 204; "Post deletions are idempotent":
    deleting a deleted post answers 204 as well (ok).
  Both need `w_member_social` (a member author) or `w_organization_social` (an organization);
  someone else's post is 403 ACCESS_DENIED (permanent); no such post is 404: `POST_GONE`.

Finding posts of a member author needs the restricted `r_member_social` permission (organizations
need `r_organization_social`): without it the finder answers 403, and `find_post` is undecided.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from socialomega.core import http
from socialomega.core.http import Outcome
from socialomega.platforms import waiting
from socialomega.platforms.linkedin.errors import ERRORS
from socialomega.platforms.linkedin.settings import TOKEN_KEY, InvalidLinkedInConfig, LinkedInSettings
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

PLATFORM = "linkedin"
PERMALINK = "https://www.linkedin.com/feed/update/{urn}/"
UPLOAD_URL_MARGIN_SECONDS = 120  # re-initialize rather than start a PUT this close to expiry
EDITS = EditSupport(
    text=True,
    image=False,
    delete=True,
    source="learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api (Update Posts: "
    "PARTIAL_UPDATE of commentary; content not updatable; Delete Posts, idempotent) via LinkedIn's Postman "
    "collection; PARTIAL_UPDATE's 204 UNCONFIRMED",
)
_POST_URN = re.compile(r"^urn:li:(share|ugcPost):[0-9]{1,25}$")


class LinkedInPublisher:
    platform = PLATFORM
    retry_is_safe = False  # /rest/posts has no idempotency key: a repeat is a second post
    edits = EDITS

    def __init__(
        self,
        settings: LinkedInSettings,
        credentials: Credentials,
        target: dict[str, Any] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.target = dict(target or settings.model_dump())
        self.session = session or guarded_session(settings)
        self.sleep = sleep
        self.clock = clock
        self._token: str | None = None
        timeout = settings.call_timeout()
        # A 401 means the call was not acted on, so repeating it is safe even for POST /rest/posts;
        # the secret is re-read once (an operator may have rotated the token) and the call
        # repeated only if the token changed.
        self.api = http.ApiClient(
            self.session,
            base_url=settings.api_base_url,
            errors=ERRORS,
            timeout=timeout,
            headers={"Linkedin-Version": settings.linkedin_version, "X-Restli-Protocol-Version": "2.0.0"},
            token=self._access_token,
            refresh=reread_token(self._access_token, logger(PLATFORM, settings.name)),
        )
        # The pre-signed upload URL: the bearer token, no API headers, no second try.
        self.uploads = http.ApiClient(self.session, errors=ERRORS, timeout=timeout, token=self._access_token)

    # --- Publisher protocol -------------------------------------------------------------------
    def publish(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> PublishResult:
        caption = self._caption(request)
        bound = logger(PLATFORM, self.settings.name).bind(version=request.version)
        try:
            image = self._initialized_image(progress, bound)
            if not progress.get("uploaded"):
                self._upload(image, images.read(request), progress, bound)
            self._wait_available(image["urn"], bound)
            body: dict[str, Any] = {
                "author": self.settings.author,
                "commentary": caption.text,
                "visibility": self.settings.visibility,
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "content": {"media": {"id": image["urn"], "altText": caption.alt_text}},
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            }
            if not caption.alt_text:
                del body["content"]["media"]["altText"]
            progress.mark_final({"image_urn": image["urn"], "author": self.settings.author})
            response = self._call("POST", "/rest/posts", json=body, final=True)
        except StepFailed as failed:
            bound.info("step_failed", kind=failed.outcome.kind, code=failed.outcome.code)
            return PublishResult(failed.outcome)
        post_urn = response.headers.get("x-restli-id")
        if not post_urn:
            return PublishResult(
                Outcome(
                    "unknown",
                    response.status_code,
                    "invalid_response",
                    "LinkedIn accepted the post but sent no x-restli-id",
                )
            )
        bound.info("post_published", remote_id=post_urn, image_urn=image["urn"])
        return PublishResult(
            Outcome("ok", response.status_code), remote_id=post_urn, remote_url=PERMALINK.format(urn=post_urn)
        )

    def find_post(self, request: PublishRequest, progress: Progress) -> Lookup:
        marker = progress.final_marker or {}
        image_urn = marker.get("image_urn")
        if not image_urn:
            return Lookup.undecided("no final marker with an image URN")
        author = marker.get("author") or self.settings.author
        since_ms = _epoch_ms(marker.get("sent_at"))
        count = self.settings.finder_count
        matches: list[str] = []
        covered = False
        for page in range(self.settings.finder_pages):
            path = (
                f"/rest/posts?author={quote(author, safe='')}&q=author&count={count}"
                f"&start={page * count}&sortBy=LAST_MODIFIED"
            )
            try:
                response = self._call("GET", path, headers={"X-RestLi-Method": "FINDER"})
                elements = response.json().get("elements")
            except StepFailed as failed:
                return Lookup.failed("post lookup failed", failed.outcome)
            except (ValueError, AttributeError):
                return Lookup.undecided("post lookup answered without JSON elements")
            if not isinstance(elements, list):
                return Lookup.undecided("post lookup answered without elements")
            for element in elements:
                media = ((element or {}).get("content") or {}).get("media") or {}
                if media.get("id") == image_urn and element.get("id"):
                    matches.append(str(element["id"]))
            oldest = min((e.get("lastModifiedAt") or 0 for e in elements if isinstance(e, dict)), default=None)
            # Sorted by last modification, newest first: once a page reaches posts older than the
            # final call (with a minute of clock slack), older pages cannot hold the post.
            if len(elements) < count or (since_ms is not None and oldest is not None and oldest < since_ms - 60_000):
                covered = True
                break
        if len(matches) == 1:
            return Lookup.found(matches[0], PERMALINK.format(urn=matches[0]))
        if len(matches) > 1:
            return Lookup.undecided(f"{len(matches)} posts use image {image_urn}")
        if covered:
            return Lookup.absent(f"no post of {author} uses image {image_urn}")
        return Lookup.undecided(f"image {image_urn} not among the {self.settings.finder_pages * count} newest posts")

    # --- Editor -------------------------------------------------------------------------------
    def post_text(self, request: PublishRequest) -> str:
        return self._caption(request).text

    def update_text(self, remote_id: str, request: PublishRequest, text: str) -> PublishResult:
        patch = {"patch": {"$set": {"commentary": text}}}
        outcome = self._edit(
            "POST", remote_id, "post_updated", json=patch, headers={"X-RestLi-Method": "PARTIAL_UPDATE"}
        )
        if not outcome.ok:
            return PublishResult(outcome)
        return PublishResult(outcome, remote_id=remote_id, remote_url=PERMALINK.format(urn=remote_id))

    def delete_post(self, remote_id: str) -> Outcome:
        return self._edit("DELETE", remote_id, "post_deleted")

    def _edit(self, method: str, remote_id: str, done: str, **kwargs: Any) -> Outcome:
        """One call on /rest/posts/{urn}. Repeating it changes nothing (the same commentary
        again; deletes are idempotent): not final, a timeout is retryable."""
        if not _POST_URN.match(remote_id):
            return invalid_remote_id(remote_id, "a post URN (urn:li:share:<n> or urn:li:ugcPost:<n>)")
        bound = logger(PLATFORM, self.settings.name).bind(remote_id=remote_id)
        bound.info("edit_sending", method=method)
        try:
            response = self._call(method, f"/rest/posts/{quote(remote_id, safe='')}", **kwargs)
        except StepFailed as failed:
            outcome = gone(failed.outcome) if failed.outcome.status == 404 else failed.outcome
            bound.warning("edit_failed", method=method, kind=outcome.kind, code=outcome.code, status=outcome.status)
            return outcome
        bound.info(done)
        return Outcome("ok", response.status_code)

    def _caption(self, request: PublishRequest) -> Caption:
        """What `publish` posts and `post_text` answers: one caption building for both."""
        return build_caption(PLATFORM, request.metadata, self.target)

    # --- steps --------------------------------------------------------------------------------
    def _initialized_image(self, progress: Progress, bound: Any) -> dict[str, Any]:
        image: dict[str, Any] | None = progress.get("image")
        expired = self.clock() * 1000 >= (image or {}).get("expires_at_ms", 0) - UPLOAD_URL_MARGIN_SECONDS * 1000
        if image and not progress.get("uploaded") and expired:
            bound.info("upload_url_expired", image_urn=image.get("urn"))
            progress.forget("image")
            image = None
        if image:
            return image
        progress.forget("uploaded")  # an upload belongs to the image it was made for
        response = self._call(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": self.settings.author}},
        )
        try:
            value = response.json()["value"]
            image = {
                "urn": str(value["image"]),
                "upload_url": str(value["uploadUrl"]),
                "expires_at_ms": int(value.get("uploadUrlExpiresAt") or 0),
            }
        except (ValueError, KeyError, TypeError):
            raise StepFailed(
                Outcome(
                    "retryable",
                    response.status_code,
                    "invalid_response",
                    "initializeUpload answered without value.image/uploadUrl",
                )
            ) from None
        self._check_upload_url(image["upload_url"])
        progress.save("image", image)
        bound.info("image_initialized", image_urn=image["urn"])
        return image

    def _upload(self, image: dict[str, Any], data: bytes, progress: Progress, bound: Any) -> None:
        self._check_upload_url(image["upload_url"])  # again: a saved step may predate a change of the allow-list
        # The URL is pre-signed; LinkedIn's own example still sends the Bearer token, which is
        # safe here because the host is on the LinkedIn allow-list.
        response, outcome = self.uploads.call(
            "PUT", image["upload_url"], final=False, data=data, headers={"Content-Type": "application/octet-stream"}
        )
        if response is None:
            raise StepFailed(outcome)
        if not outcome.ok:
            if response.status_code in (400, 403, 404, 409, 410):
                # Expired or spent upload URL: start over with a fresh one on the next delivery.
                progress.forget("image", "uploaded")
                outcome = Outcome(
                    "retryable",
                    outcome.status,
                    outcome.code or "upload_rejected",
                    f"upload URL rejected, will re-initialize: {outcome.message}",
                )
            raise StepFailed(outcome)
        progress.save("uploaded", True)
        bound.info("image_uploaded", image_urn=image["urn"], bytes=len(data))

    def _wait_available(self, urn: str, bound: Any) -> None:
        give_up_at = self.clock() + self.settings.image_wait_seconds
        while True:
            response = self._call("GET", f"/rest/images/{quote(urn, safe='')}")
            try:
                status = response.json().get("status")
            except (ValueError, AttributeError):
                status = None
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise StepFailed(
                    Outcome(
                        "permanent",
                        response.status_code,
                        "linkedin:PROCESSING_FAILED",
                        f"LinkedIn could not process image {urn}",
                    )
                )
            if self.clock() >= give_up_at:
                # The saved steps stay: the next delivery only waits again.
                raise StepFailed(
                    Outcome(
                        "retryable",
                        response.status_code,
                        "linkedin:IMAGE_NOT_AVAILABLE",
                        f"image {urn} still {status} after {self.settings.image_wait_seconds:g}s",
                        retry_after=max(self.settings.image_wait_seconds, 5.0),
                    )
                )
            bound.debug("image_processing", image_urn=urn, status=status)
            if not waiting.pause(self.settings.image_poll_seconds, self.sleep):
                # As at the bound: the saved steps stay, the next delivery only waits again.
                raise StepFailed(waiting.stopped(f"image {urn} is still {status}", self.settings.image_poll_seconds))

    # --- HTTP -------------------------------------------------------------------------------
    def _check_upload_url(self, url: str) -> None:
        unsafe = unsafe_destination(url, self.settings.upload_policy)
        if unsafe is not None:
            raise StepFailed(Outcome(unsafe.kind, code=unsafe.code, message=f"upload URL: {unsafe.message}"))

    def _access_token(self, fresh: bool = False) -> str:
        if self._token is None or fresh:
            self._token = secret_value(
                self.credentials, TOKEN_KEY, self.settings.name, InvalidLinkedInConfig, fresh=fresh
            )
        return self._token

    def _call(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None, final: bool = False
    ) -> requests.Response:
        """One API call with LinkedIn's headers (on 401 the token re-read once, see `self.api`).
        Only the `final` call can end "unknown"; any other timed-out step is simply redone."""
        unsafe = unsafe_destination(self.settings.api_base_url + path, self.settings.api_policy)
        if unsafe is not None:
            raise StepFailed(unsafe)
        response, outcome = self.api.call(method, path, final=final, json=json, headers=headers)
        if response is None or not outcome.ok:
            raise StepFailed(outcome)
        return response


def _epoch_ms(value: Any) -> int | None:
    when = parse_time(value)
    return None if when is None else int(when.timestamp() * 1000)


def build(target: dict[str, Any], credentials: Credentials) -> LinkedInPublisher:
    """The handler's factory: validated settings from the target entry; the token is read from
    the target's secret (`{"access_token": ...}`) when first needed."""
    return LinkedInPublisher(LinkedInSettings.from_target(target), credentials, target=target)
