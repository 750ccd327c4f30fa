"""Engagement notifications reduced to likes, comments and shares on a post: the generic half.

Each platform's parser lives in its package (`platforms/<name>/webhook.py`, `engagements(doc)`)
and is found in the registry. Only engagement by other people on a post is kept; everything
else in a notification (our own posts and likes, edits, hides, mentions, messaging) is ignored,
not an error. A body that is not the platform's notification envelope at all raises
`NotANotification`.

The parsers take whatever a signed body holds, so every value may be of any type and size.
Whatever they report is checked by `well_formed` before it is used: a post id that is not 1-256
printable ASCII characters, or a notification key that is not 1-512 (a Facebook key joins the
post id with the item, verb, sender and time), is not one of ours. Such an engagement is
counted as unmatched and never becomes a store key, a log field in full, or an event (an event
must serialise as UTF-8: a lone surrogate, which a JSON escape can write, would not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from socialomega import platforms

MAX_ID_CHARS = 256
MAX_KEY_CHARS = 512
_POST_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_ID_CHARS}}}")  # fullmatch: no space, no control, ASCII
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_CHARS}}}")


class NotANotification(ValueError):
    """The body is not this platform's notification envelope."""


EngagementKind = Literal["like", "comment", "share"]


@dataclass(frozen=True)
class Engagement:
    platform: str
    remote_id: str  # the post, as our publisher recorded it
    kind: EngagementKind
    delta: int  # +1, or -1 when the platform says it was taken back
    key: str  # the platform's identity of this notification: retries repeat it
    occurred_at: str | None = None

    @property
    def counter(self) -> str:
        return f"{self.kind}s"


def well_formed(engagement: Engagement) -> bool:
    """Could this be engagement on one of our posts, with an identity an event can carry?"""
    return bool(_POST_ID.fullmatch(engagement.remote_id) and _KEY.fullmatch(engagement.key))


def brief(value: Any) -> str:
    """A value for an error message: short, whatever its type, size or depth."""
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if value is None or isinstance(value, bool | float) or (isinstance(value, int) and abs(value) < 10**40):
        return repr(value)
    return f"a JSON {'number' if isinstance(value, int) else type(value).__name__}"


def iso_time(seconds: float | int | str | None, scale: float = 1.0) -> str | None:
    """An epoch time (in 1/`scale` seconds) as ISO 8601 UTC, or None when it is not one."""
    try:
        return datetime.fromtimestamp(float(seconds) / scale, UTC).isoformat()  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def list_field(doc: dict[str, Any], name: str) -> list[Any]:
    """`doc[name]`, a list (empty when absent); anything else is not a notification."""
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise NotANotification(f"{name} is not a list")
    return value


def engagements(platform: str, doc: Any) -> list[Engagement]:
    """The engagement one notification body reports (possibly none)."""
    parse = platforms.get(platform).webhook().engagements
    if not isinstance(doc, dict):
        raise NotANotification("body is not a JSON object")
    try:
        found: list[Engagement] = parse(doc)
        return found
    except NotANotification:
        raise
    except (AttributeError, TypeError, KeyError, ValueError) as exc:  # a field of an unexpected type
        raise NotANotification(f"unexpected {platform} notification shape: {str(exc)[:200]!r}") from exc
    except RecursionError as exc:  # a field nested too deeply to turn into a string
        raise NotANotification(f"{platform} notification nested too deeply") from exc
