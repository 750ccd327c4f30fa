"""Engagement ground truth of the social fakes: what fans did to each post, on a virtual clock.

Every post a fake publishes is tracked here. Fans' actions (`engage`) move its counters (likes,
comments, shares, saves) and append `(at, kind, delta)` to its log. The platforms' insights
endpoints (in each fake) answer from this truth, so a figure pulled from a fake can be checked
against `GET /_sandbox/engagement` at the same clock.

Derived metrics (issue 15 design note §4) are pure functions of the counters and the clock:
    interactions = likes + comments + shares + saves
    views  = 25 * interactions + floor(40 * sqrt(minutes since publish))
    reach  = floor(0.7 * views)
    clicks = floor(views / 50)
They only grow: counters are net of removals, but the sqrt term grows with time.

The clock (`SandboxClock`) is wall time plus an offset that only moves forward; one instance
is shared by the four social fakes of a `Sandbox` (it is also the clock the Instagram and
LinkedIn fakes already used for token and container lifetimes). X's and Facebook's tokens and
media lifetimes stay on wall time: only engagement, insights and post ages use this clock there.

Permissions: each fake's account has a set of granted scopes (its `DEFAULT_GRANTS`); the
insights endpoints check it and answer the platform's permission error when one is missing
(never zeros). Grants gate the insights endpoints (and the fakes' edit and delete endpoints):
debug_token / introspection keep listing the token's own scopes.

Control API (every social fake, no auth):
  POST /_sandbox/engage        {"post_id", "kind": like|comment|share|save, "count": 1,
                                "remove": false} -> {"post": <truth>, "notified": [status, ...]}
                               404 unknown post, 409 deleted post, 400 bad kind/count or a
                               removal below zero. With a webhook URL set, kinds the platform
                               notifies (`webhooks.NOTIFIED_KINDS`) are also delivered, signed,
                               one notification per unit (LinkedIn: organization posts only).
  GET  /_sandbox/engagement    {"now", "posts": [<truth>]} (`?post_id=` one post, `?log=1` adds
                               the log). <truth> = {post_id, published_at, as_of, deleted,
                               likes, comments, shares, saves, views, reach, clicks}
  GET/POST /_sandbox/clock     {"advance": seconds >= 0} -> {"now", "offset"}
  GET/POST /_sandbox/permissions {"grant": [scope], "revoke": [scope]} -> {"granted": [...]}
  POST /_sandbox/delete-post   {"post_id"} the post is gone: insights answer "not found"
  POST /_sandbox/webhook-url   {"url": "<base of SocialOmega's webhook endpoint>" | null}
Python: `engage`, `engagement`, `advance_clock`, `grant`, `revoke`, `delete_post`,
`set_webhook_url` on each fake (and on `Sandbox`, by platform).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from werkzeug.wrappers import Request, Response

KINDS = ("like", "comment", "share", "save")
COUNTERS = {"like": "likes", "comment": "comments", "share": "shares", "save": "saves"}
DERIVED = ("views", "reach", "clicks")


class SandboxClock:
    """Epoch seconds: the base clock (wall time) plus an offset that only moves forward.
    Callable like `time.time`, so it drops in wherever a fake takes a `clock`."""

    def __init__(self, base: Callable[[], float] = time.time) -> None:
        self._base = base
        self._offset = 0.0
        self._frozen_base: Callable[[], float] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._base() + self._offset

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset

    def freeze(self) -> float:
        """Stop the clock where it is (it still moves by `advance`), so figures derived from
        time (views) read the same at the platform and in a test's expectation; the frozen now."""
        with self._lock:
            now = self._base()
            self._frozen_base, self._base = self._base, lambda: now
        return self()

    def thaw(self) -> None:
        """Let the clock run on wall time again: it catches up (it never goes back)."""
        with self._lock:
            if self._frozen_base is not None:
                self._base, self._frozen_base = self._frozen_base, None

    def advance(self, seconds: float) -> float:
        """Move the clock forward (never back: the engagement logs stay ordered); the new now."""
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not seconds >= 0:
            raise ValueError("advance must be a number of seconds >= 0")
        with self._lock:
            self._offset += float(seconds)
        return self()


def derived(counts: Mapping[str, int], published_at: float, at: float) -> dict[str, int]:
    """views, reach, clicks of a post with these counters, `at` (epoch seconds)."""
    interactions = sum(counts[c] for c in COUNTERS.values())
    minutes = max(0.0, (at - published_at) / 60.0)
    views = 25 * interactions + math.floor(40 * math.sqrt(minutes))
    return {"views": views, "reach": views * 7 // 10, "clicks": views // 50}


@dataclass
class PostTruth:
    post_id: str
    published_at: float
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS.values(), 0))
    log: list[tuple[float, str, int]] = field(default_factory=list)  # (at, kind, delta)
    deleted_at: float | None = None

    def counts_at(self, at: float) -> dict[str, int]:
        """The counters as they were at `at` (the log replayed up to it)."""
        counts = dict.fromkeys(COUNTERS.values(), 0)
        for when, kind, delta in self.log:
            if when <= at:
                counts[COUNTERS[kind]] += delta
        return counts

    def metrics(self, at: float) -> dict[str, int]:
        """Counters and derived metrics as the platform reports them at `at`."""
        counts = self.counts_at(at)
        return {**counts, **derived(counts, self.published_at, at)}


class EngagementError(Exception):
    """A refused engagement: `status` 400 (bad input), 404 (unknown post) or 409 (deleted)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class EngagementTruth:
    """The posts of one fake, their counters and logs, and the account's granted scopes."""

    def __init__(self, clock: Callable[[], float], grants: Iterable[str] = ()) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.posts: dict[str, PostTruth] = {}
        self.aliases: dict[str, str] = {}  # another id of the same post (Facebook's photo id)
        self.granted: set[str] = set(grants)

    def track(self, post_id: str, *, at: float | None = None, aliases: Iterable[str] = ()) -> PostTruth:
        """Start the truth of a new post (idempotent)."""
        with self.lock:
            post = self.posts.get(post_id)
            if post is None:
                post = self.posts[post_id] = PostTruth(post_id, self.clock() if at is None else at)
            for alias in aliases:
                self.aliases[alias] = post_id
            return post

    def find(self, post_id: str) -> PostTruth | None:
        """The post (by its id or an alias), deleted or not; None if never tracked."""
        with self.lock:
            return self.posts.get(self.aliases.get(post_id, post_id))

    def live(self, post_id: str) -> PostTruth | None:
        """The post unless unknown or deleted."""
        post = self.find(post_id)
        return post if post is not None and post.deleted_at is None else None

    def engage(self, post_id: str, kind: str, count: int = 1, remove: bool = False) -> PostTruth:
        if kind not in COUNTERS:
            raise EngagementError(400, f"kind must be one of {', '.join(KINDS)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise EngagementError(400, "count must be an integer >= 1")
        with self.lock:
            post = self.find(post_id)
            if post is None:
                raise EngagementError(404, f"no post {post_id!r} on this platform")
            if post.deleted_at is not None:
                raise EngagementError(409, f"post {post_id!r} was deleted")
            counter = COUNTERS[kind]
            if remove and post.counts[counter] < count:
                raise EngagementError(400, f"cannot remove {count} {counter}: the post has {post.counts[counter]}")
            delta = -count if remove else count
            post.counts[counter] += delta
            post.log.append((self.clock(), kind, delta))
            return post

    def delete(self, post_id: str) -> PostTruth:
        with self.lock:
            post = self.find(post_id)
            if post is None:
                raise EngagementError(404, f"no post {post_id!r} on this platform")
            if post.deleted_at is None:
                post.deleted_at = self.clock()
            return post

    def report(self, post: PostTruth, *, at: float | None = None, log: bool = False) -> dict[str, Any]:
        """The truth of one post as the platform would report it `at` (default now)."""
        now = self.clock() if at is None else at
        with self.lock:
            view: dict[str, Any] = {
                "post_id": post.post_id,
                "published_at": post.published_at,
                "as_of": now,
                "deleted": post.deleted_at is not None,
                **post.metrics(now),
            }
            if log:
                view["log"] = [[when, kind, delta] for when, kind, delta in post.log]
        return view

    def metrics(self, post: PostTruth, at: float) -> dict[str, int]:
        """PostTruth.metrics under the lock (fans may be engaging meanwhile)."""
        with self.lock:
            return post.metrics(at)

    def has(self, *scopes: str) -> bool:
        with self.lock:
            return set(scopes) <= self.granted


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


# Routed by each fake through its EXTRA_CONTROL (control.SandboxControl.control).
CONTROL_ROUTES = {
    ("POST", "/_sandbox/engage"): "_ctl_engage",
    ("GET", "/_sandbox/engagement"): "_ctl_engagement",
    ("GET", "/_sandbox/clock"): "_ctl_clock",
    ("POST", "/_sandbox/clock"): "_ctl_clock",
    ("GET", "/_sandbox/permissions"): "_ctl_permissions",
    ("POST", "/_sandbox/permissions"): "_ctl_permissions",
    ("POST", "/_sandbox/delete-post"): "_ctl_delete_post",
    ("POST", "/_sandbox/webhook-url"): "_ctl_webhook_url",
}


class EngagementControl:
    """Mixin for a social fake, listed after control.SandboxControl: the truth (`self.truth`,
    made by `_reset_engagement()` in the fake's reset()), its control endpoints and Python
    helpers. The fake sets `PLATFORM` and `DEFAULT_GRANTS`, has `clock` and `_control_error`,
    calls `self.truth.track(...)` when it publishes, and may override `_notifies(post_id)`."""

    PLATFORM: ClassVar[str]
    DEFAULT_GRANTS: ClassVar[frozenset[str]] = frozenset()
    clock: Callable[[], float]
    truth: EngagementTruth
    webhook_url: str | None

    if TYPE_CHECKING:  # control.SandboxControl's (or the fake's own); listed before this mixin

        def _control_error(self, message: str, status: int = 400) -> Response: ...

    def _reset_engagement(self) -> None:
        self.truth = EngagementTruth(self.clock, self.DEFAULT_GRANTS)
        self.webhook_url = None

    def _notifies(self, post_id: str) -> bool:
        """Whether the platform sends webhooks about this post (all of them, by default)."""
        return True

    # --- Python helpers (same effects as the control endpoints) ----------------------------------
    def engage(
        self, post_id: str, kind: str, count: int = 1, remove: bool = False, notify: bool = False
    ) -> dict[str, Any]:
        """A fan likes/comments/shares/saves (or takes it back); returns the post's truth.
        `notify`: also deliver the platform's webhooks, as `POST /_sandbox/engage` does (the
        answer then has `notified`: the endpoint's status per notification). Raises EngagementError."""
        post = self.truth.engage(post_id, kind, count, remove)
        view = self.truth.report(post)
        return {**view, "notified": self._notify(post_id, kind, count, remove)} if notify else view

    def engagement(self, post_id: str | None = None) -> list[dict[str, Any]]:
        """The truth of every tracked post (or of one), as the platform reports it now."""
        with self.truth.lock:
            if post_id is None:
                return [self.truth.report(p) for p in self.truth.posts.values()]
            post = self.truth.find(post_id)
            if post is None:
                raise EngagementError(404, f"no post {post_id!r} on this platform")
            return [self.truth.report(post)]

    def advance_clock(self, seconds: float) -> float:
        """Advance this fake's clock (shared by all fakes of a Sandbox); the new now."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise EngagementError(400, "this fake's clock cannot be advanced (not a SandboxClock)")
        try:
            now: float = advance(seconds)
        except ValueError as exc:
            raise EngagementError(400, str(exc)) from None
        return now

    def grant(self, *scopes: str) -> list[str]:
        with self.truth.lock:
            self.truth.granted |= set(scopes)
            return sorted(self.truth.granted)

    def revoke(self, *scopes: str) -> list[str]:
        with self.truth.lock:
            self.truth.granted -= set(scopes)
            return sorted(self.truth.granted)

    def delete_post(self, post_id: str) -> None:
        self.truth.delete(post_id)

    def set_webhook_url(self, url: str | None) -> None:
        self.webhook_url = url.rstrip("/") if url else None

    def _notify(self, post_id: str, kind: str, count: int, remove: bool) -> list[int]:
        """Deliver the platform's signed notifications for an engagement, if it sends any."""
        from socialomega.sandbox import webhooks  # webhooks imports the fakes: not at module load

        url = self.webhook_url
        notified = webhooks.REMOVALS_NOTIFIED if remove else webhooks.NOTIFIED_KINDS
        if not url or kind not in notified.get(self.PLATFORM, ()) or not self._notifies(post_id):
            return []
        post = self.truth.find(post_id)
        canonical = post.post_id if post is not None else post_id
        return [
            webhooks.deliver(
                url, self.PLATFORM, webhooks.notification(self.PLATFORM, kind, canonical, remove=remove)
            ).status_code
            for _ in range(count)
        ]

    # --- control endpoints --------------------------------------------------------------------
    def _ctl_engage(self, body: dict[str, Any], request: Request) -> Response:
        post_id, kind = str(body.get("post_id") or ""), str(body.get("kind") or "")
        count, remove = body.get("count", 1), bool(body.get("remove", False))
        try:
            post = self.engage(post_id, kind, count, remove)
        except EngagementError as exc:
            return self._control_error(str(exc), exc.status)
        return _json({"post": post, "notified": self._notify(post_id, kind, count, remove)})

    def _ctl_engagement(self, body: dict[str, Any], request: Request) -> Response:
        post_id = request.args.get("post_id")
        with_log = request.args.get("log") in ("1", "true")
        with self.truth.lock:
            if post_id:
                post = self.truth.find(post_id)
                if post is None:
                    return self._control_error(f"no post {post_id!r} on this platform", 404)
                posts = [post]
            else:
                posts = list(self.truth.posts.values())
            now = self.clock()
            return _json({"now": now, "posts": [self.truth.report(p, at=now, log=with_log) for p in posts]})

    def _ctl_clock(self, body: dict[str, Any], request: Request) -> Response:
        if request.method == "POST":
            try:
                self.advance_clock(body.get("advance", 0))
            except EngagementError as exc:
                return self._control_error(str(exc), exc.status)
        return _json({"now": self.clock(), "offset": getattr(self.clock, "offset", 0.0)})

    def _ctl_permissions(self, body: dict[str, Any], request: Request) -> Response:
        if request.method == "POST":
            grant, revoke = body.get("grant", []), body.get("revoke", [])
            if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in (grant, revoke)):
                return self._control_error("grant and revoke must be lists of scope names")
            self.grant(*grant)
            self.revoke(*revoke)
        with self.truth.lock:
            return _json({"granted": sorted(self.truth.granted)})

    def _ctl_delete_post(self, body: dict[str, Any], request: Request) -> Response:
        try:
            self.delete_post(str(body.get("post_id") or ""))
        except EngagementError as exc:
            return self._control_error(str(exc), exc.status)
        return _json({"deleted": body.get("post_id")})

    def _ctl_webhook_url(self, body: dict[str, Any], request: Request) -> Response:
        url = body.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            return self._control_error("url must be an http(s) URL or null")
        self.set_webhook_url(url)
        return _json({"webhook_url": self.webhook_url})
