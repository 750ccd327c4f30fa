"""Facebook Page photo posts through the Graph API: one call, `POST /{version}/{page-id}/photos`.

The photo is given either as `url` (a presigned S3 URL of the variant that Meta downloads
during the call; `upload: "url"`, the default) or as a multipart file part named `source`
(`upload: "multipart"`, for images Meta cannot reach). `source` is not named in our reference
(UNCONFIRMED there); it is the field the Graph API's own SDKs send (Meta's PHP SDK
`'source' => $fb->fileToUpload(...)`, the Node SDK, restfb), so we use it and the fake accepts
only that name. The answer is `{"id": photo_id, "post_id": page_post_id}`; the post's permalink
is https://www.facebook.com/<post_id>.

There is only one, non-idempotent step (Graph has no idempotency key), so `mark_final` is
called right before it with the exact caption. If that call's outcome is never learned,
`find_post` lists the Page's uploaded photos, newest first,
`GET /{page-id}/photos?type=uploaded&fields=id,name,created_time,page_story_id` (choice: the
photos edge holds exactly the objects this call creates, its `name` is the caption and its
`page_story_id` the post id; `/{page-id}/published_posts` would also list link and text posts
and hides unpublished photos) and matches the exact caption among photos created after the
marker's `sent_at` (minus `clock_skew_seconds`).

Edits (`EDITS`; developers.facebook.com/documentation/pages-api/posts.md: "create, publish,
and update a post ... and delete a post"; Meta SDK v25 `PagePost.api_update`/`api_delete`):
  update_text: `POST /{version}/{page-post-id}` with `message` -> `{"success": true}` (answer
    UNCONFIRMED). The post id `{page-id}_{post-id}` is what `publish` stores as the remote id;
    a bare photo id (a photo published without a post) cannot be edited: the Photo node has no
    update in Meta's SDK, so that answers `EDIT_NOT_SUPPORTED`. That the post's `message` is
    the photo's caption is UNCONFIRMED (the fake keeps one text for both).
  delete_post: `DELETE /{version}/{page-post-id}` (or the photo id) -> `{"success": true}`.
  Both need `pages_manage_posts` on the Page token; an unknown or deleted post is Graph's code
  100 subcode 33 ("does not exist, cannot be loaded due to missing permissions"): `POST_GONE`.
  Replacing the photo is not documented (no parameter for it, UNCONFIRMED): delete and repost.

Auth: the Page access token (secret key `page_access_token`) goes in an `Authorization:
Bearer` header, never in a URL. Page tokens fall under Business Use Case rate limits; the
throttle (code 32) and its `X-Business-Use-Case-Usage` header are read by Meta's errors
(`platforms/meta/errors.py`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import requests

from socialomega.core import http
from socialomega.core.http import Outcome
from socialomega.platforms.facebook.settings import TOKEN_KEY, FacebookSettings, InvalidFacebookTarget
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
    guarded_session,
    logger,
    parse_time,
    reread_token,
    secret_value,
    unsafe_destination,
)

PERMALINK = "https://www.facebook.com/{}"
EDITS = EditSupport(
    text=True,
    image=False,
    delete=True,
    source="developers.facebook.com/documentation/pages-api/posts.md (update and delete a Page post); "
    "Meta SDK v25 PagePost.api_update (message) and api_delete; photo replacement undocumented (UNCONFIRMED)",
)
_POST_ID = re.compile(r"^[0-9]{1,32}_[0-9]{1,32}$")
_PHOTO_ID = re.compile(r"^[0-9]{1,32}$")


def _missing(outcome: Outcome) -> bool:
    """Graph's "object does not exist" (code 100, subcode 33): deleted, unknown or not visible."""
    return outcome.code == "meta:100/33"


class FacebookPublisher:
    platform = "facebook"
    retry_is_safe = False
    edits = EDITS

    def __init__(
        self,
        settings: FacebookSettings,
        credentials: Credentials,
        target: dict[str, Any],
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.target = target
        self.session = session or guarded_session(settings)
        # On "auth" the secret may have been rotated since it was cached: one more try with the
        # fresh value. Safe: Graph rejected the token before doing anything.
        self.api = http.ApiClient(
            self.session,
            errors=meta.ERRORS,
            token=self._token,
            refresh=reread_token(self._token, logger(self.platform, target.get("name"))),
            timeout=settings.call_timeout(),
        )

    # --- publish ----------------------------------------------------------------------------------
    def publish(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> PublishResult:
        s = self.settings
        log = logger(self.platform, request.target).bind(page_id=s.page_id)
        url = self._url("photos")
        unsafe = unsafe_destination(url, s.egress_policy)
        if unsafe is not None:
            return PublishResult(unsafe)
        caption = self._caption(request)
        fields: dict[str, str] = {"caption": caption.text}
        if s.send_alt_text and caption.alt_text:
            fields["alt_text_custom"] = caption.alt_text
        files = None
        if s.upload == "url":
            fields["url"] = images.url(request, s.image_url_ttl_seconds)
        else:
            files = {"source": (f"{request.asset_id}.jpg", images.read(request), request.content_type)}
        self._token()  # a secret without the token fails here, before the final marker
        progress.mark_final({"page_id": s.page_id, "caption": caption.text, "upload": s.upload})
        log.info("step_sending", step="photos", upload=s.upload, caption_chars=len(caption.text))
        response, outcome = self.api.call("POST", url, data=fields, files=files)
        if not outcome.ok:
            log.warning(
                "step_failed",
                kind=outcome.kind,
                code=outcome.code,
                status=outcome.status,
                message=outcome.message,
                retry_after=outcome.retry_after,
            )
            return PublishResult(outcome)
        assert response is not None
        try:
            body = response.json()
            photo_id = str(body["id"])
        except (ValueError, KeyError, TypeError):
            return PublishResult(
                Outcome(
                    "unknown",
                    response.status_code,
                    "invalid_response",
                    "Graph accepted the photo but the answer has no id",
                )
            )
        post_id = str(body.get("post_id") or "") or None
        log.info(
            "post_published",
            remote_id=post_id or photo_id,
            photo_id=photo_id,
            usage=meta.usage_percent(response.headers),
        )
        return PublishResult(
            Outcome("ok", response.status_code),
            remote_id=post_id or photo_id,
            remote_url=PERMALINK.format(post_id or photo_id),
        )

    # --- find_post --------------------------------------------------------------------------------
    def find_post(self, request: PublishRequest, progress: Progress) -> Lookup:
        s = self.settings
        marker = progress.final_marker or {}
        caption = marker.get("caption")
        if not isinstance(caption, str) or not _normal(caption):
            return Lookup.undecided("no caption in the final marker to recognise the post by")
        if marker.get("page_id") not in (None, s.page_id):
            return Lookup.undecided(f"the post went to page {marker.get('page_id')}, the target now names {s.page_id}")
        since = parse_time(marker.get("sent_at"))
        if marker.get("sent_at") and since is None:
            return Lookup.undecided(f"unreadable sent_at {marker.get('sent_at')!r}")
        if since is not None:
            since -= timedelta(seconds=s.clock_skew_seconds)
        url = self._url("photos")
        unsafe = unsafe_destination(url, s.egress_policy)
        if unsafe is not None:
            return Lookup.undecided(unsafe.message)
        wanted = _normal(caption)
        matches: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "type": "uploaded",
            "fields": "id,name,created_time,page_story_id",
            "limit": s.lookup_page_size,
        }
        for _ in range(s.lookup_max_pages):
            response, outcome = self.api.call("GET", url, params=params)
            if response is None or not outcome.ok:
                return Lookup.failed("listing the Page's photos failed", outcome)
            try:
                body = response.json()
                items = list(body.get("data") or [])
            except (ValueError, AttributeError, TypeError):
                return Lookup.undecided("listing the Page's photos gave no JSON data")
            reached_older = False
            for item in items:
                created = parse_time(item.get("created_time"))
                if since is not None and (created is None or created < since):
                    reached_older = True  # newest first: the rest is older still
                    break
                if _normal(str(item.get("name") or "")) == wanted:
                    matches.append(item)
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if reached_older or not items or not (body.get("paging") or {}).get("next") or not after:
                break
            params = {**params, "after": after}
        else:  # pages left unread: more photos may carry the caption
            return Lookup.undecided(f"more than {s.lookup_max_pages} pages of photos to search")
        logger(self.platform, request.target).info("find_post_searched", matches=len(matches))
        if len(matches) == 1:
            item = matches[0]
            post_id = str(item.get("page_story_id") or item.get("id") or "")
            if not post_id:
                return Lookup.undecided("the matching photo has no id")
            return Lookup.found(post_id, PERMALINK.format(post_id))
        if not matches:
            return Lookup.absent("no photo with this caption since the final call")
        return Lookup.undecided(f"{len(matches)} photos carry this caption")

    # --- Editor -----------------------------------------------------------------------------------
    def post_text(self, request: PublishRequest) -> str:
        return self._caption(request).text

    def update_text(self, remote_id: str, request: PublishRequest, text: str) -> PublishResult:
        if _PHOTO_ID.match(remote_id):
            return PublishResult(not_supported("changing the caption of a photo without a Page post", EDITS))
        if not _POST_ID.match(remote_id):
            return PublishResult(invalid_remote_id(remote_id, "a Page post id {page-id}_{post-id}"))
        outcome = self._edit("POST", remote_id, "post_updated", data={"message": text}, text_chars=len(text))
        if not outcome.ok:
            return PublishResult(outcome)
        return PublishResult(outcome, remote_id=remote_id, remote_url=PERMALINK.format(remote_id))

    def delete_post(self, remote_id: str) -> Outcome:
        if not (_POST_ID.match(remote_id) or _PHOTO_ID.match(remote_id)):
            return invalid_remote_id(remote_id, "a Page post id or a photo id")
        return self._edit("DELETE", remote_id, "post_deleted")

    def _edit(self, method: str, remote_id: str, done: str, **fields: Any) -> Outcome:
        """One call on the post node. Repeating it changes nothing (the same text again, or a
        post already gone): `final=False`, a timeout is retryable."""
        log = logger(self.platform, self.target.get("name")).bind(remote_id=remote_id)
        s = self.settings
        url = f"{s.api_base_url}/{s.graph_version}/{remote_id}"
        unsafe = unsafe_destination(url, s.egress_policy)
        if unsafe is not None:
            return unsafe
        data = fields.pop("data", None)
        log.info("edit_sending", method=method, **fields)
        response, outcome = self.api.call(method, url, final=False, data=data)
        if outcome.ok and response is not None and http.json_object(response).get("success") is False:
            outcome = Outcome("permanent", response.status_code, "meta:not_done", "Graph answered success: false")
        if not outcome.ok:
            if _missing(outcome):
                outcome = gone(outcome)
            log.warning("edit_failed", method=method, kind=outcome.kind, code=outcome.code, status=outcome.status)
            return outcome
        log.info(done)
        return outcome

    # --- helpers ----------------------------------------------------------------------------------
    def _caption(self, request: PublishRequest) -> Caption:
        """What `publish` posts and `post_text` answers: one caption building for both."""
        return build_caption(self.platform, request.metadata, self.target)

    def _url(self, edge: str) -> str:
        s = self.settings
        return f"{s.api_base_url}/{s.graph_version}/{s.page_id}/{edge}"

    def _token(self, fresh: bool = False) -> str:
        return secret_value(self.credentials, TOKEN_KEY, self.target.get("name"), InvalidFacebookTarget, fresh=fresh)


def _normal(text: str) -> str:
    """Graph stores the caption as sent; line endings and outer blanks are all we forgive."""
    return text.replace("\r\n", "\n").strip()


def build(target: dict[str, Any], credentials: Credentials) -> FacebookPublisher:
    return FacebookPublisher(FacebookSettings.from_target(target), credentials, target)
