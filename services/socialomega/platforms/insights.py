"""What a platform reports about one of our posts: the types every `platforms/<p>/insights.py` returns.

Each platform package with insights has an `insights.py` exposing

    read(publisher, posts: Sequence[PostRef], now: datetime) -> list[PostInsights]

one result per post, in order. `publisher` is the target's publisher (`build_publisher`), whose
`api` (`core.http.ApiClient`) carries the one HTTP policy: the guarded session, the deadline,
the token and its renewal. A read never raises for one post's failure: it becomes that post's
`status` with the reason, and the other posts are still read (`deferred` once the platform asks
to wait or the deadline is near: the rest are left for the next run).

`values` hold the platform's lifetime totals for the metrics it reported. A metric it did not
report is in `missing` with the reason (`no permission: <scope>`, `not offered by <platform>`,
`not offered for <kind of post>`), never reported as 0: a photographer must be able to tell
"nobody liked it" from "we could not ask".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# Every metric analytics knows, in display order. A platform maps its own names onto these
# (its insights.py docstring says how, with sources).
METRICS: tuple[str, ...] = ("likes", "comments", "shares", "saves", "views", "reach", "clicks")

Status = Literal["ok", "partial", "no_permission", "gone", "failed", "deferred"]
# ok: every metric the platform offers for this post was read; partial: some were (the others
# are in `missing`); no_permission: none, the account lacks the permission (`detail` names it);
# gone: the platform says the post no longer exists; failed: an error (`detail`), retried next
# run; deferred: not asked this run (rate limit, deadline), asked next run.
STATUSES: tuple[Status, ...] = ("ok", "partial", "no_permission", "gone", "failed", "deferred")


@dataclass(frozen=True)
class PostRef:
    """One published post to read: who published it, where, and the platform's id for it."""

    target: str
    platform: str
    asset_id: str
    remote_id: str
    published_at: datetime
    remote_url: str | None = None


@dataclass(frozen=True)
class PostInsights:
    post: PostRef
    status: Status
    values: dict[str, int] = field(default_factory=dict)  # metric (METRICS) -> lifetime total
    missing: dict[str, str] = field(default_factory=dict)  # metric -> why it was not reported
    detail: str = ""  # for a status other than ok: what happened, and what to do
    retry_after: float | None = None  # seconds the platform asked to wait (deferred)

    def __post_init__(self) -> None:
        unknown = (set(self.values) | set(self.missing)) - set(METRICS)
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}: analytics knows {METRICS}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.post.target,
            "platform": self.post.platform,
            "asset_id": self.post.asset_id,
            "remote_id": self.post.remote_id,
            "status": self.status,
            "values": dict(self.values),
            "missing": dict(self.missing),
            "detail": self.detail,
        }


NOT_OFFERED = "not offered"  # how a reason starts when the platform has no such figure for the post


@dataclass(frozen=True)
class Reading:
    """A post's result before it is bound to its PostRef (one answer may serve several posts)."""

    status: Status
    values: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    retry_after: float | None = None

    def of(self, post: PostRef) -> PostInsights:
        return PostInsights(post, self.status, dict(self.values), dict(self.missing), self.detail, self.retry_after)


def judged(values: Mapping[str, int], missing: Mapping[str, str]) -> Reading:
    """The status a read settles on: ok when only figures the platform does not offer are
    missing; partial when some were read; else no_permission (refusals) or failed. `detail`
    names what is missing and why."""
    ordered = {m: values[m] for m in METRICS if m in values}
    why = {m: missing[m] for m in METRICS if m in missing and m not in values}
    wanting = {m: reason for m, reason in why.items() if not reason.startswith(NOT_OFFERED)}
    if not wanting:
        return Reading("ok", ordered, why)
    detail = "; ".join(f"{m}: {reason}" for m, reason in wanting.items())
    if ordered:
        return Reading("partial", ordered, why, detail)
    permission = all(reason.startswith("no permission") for reason in wanting.values())
    return Reading("no_permission" if permission else "failed", ordered, why, detail)
