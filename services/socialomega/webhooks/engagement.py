"""Engagement notifications, per platform, reduced to likes, comments and shares on a post.

Only engagement by other people on a post is kept; everything else in a notification (our own
posts and likes, edits, hides, mentions, messaging) is ignored, not an error. A body that is
not the platform's notification envelope at all raises `NotANotification`.

Payload shapes (../shared/reference/platform-apis.md, section 6):
* Facebook Page `feed` changes: `value.item` reaction|like|comment|share, `value.verb`
  add|remove, `value.post_id` "<page>_<post>" (the id our publisher records). Shape taken from
  captured payloads; the field list is UNCONFIRMED against Meta's reference.
* Instagram `comments` changes: `value.id` (the comment), `value.media.id` (our media id).
  Instagram sends no like notifications; likes would have to be polled (not done).
* X Account Activity: `favorite_events` (a like of `favorited_status`), `tweet_create_events`
  (replies, retweets and quotes of our posts), scoped by `for_user_id`.
* LinkedIn organization social actions: `notifications[].action` LIKE|COMMENT|SHARE|
  COMMENT_DELETE on `sourcePost`, deduplicated by `notificationId`. UNCONFIRMED first-hand.

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
from typing import Any

MAX_ID_CHARS = 256
MAX_KEY_CHARS = 512
_POST_ID = re.compile(r"[\x21-\x7e]{1,%d}" % MAX_ID_CHARS)    # fullmatch: no space, no control, ASCII
_KEY = re.compile(r"[\x20-\x7e]{1,%d}" % MAX_KEY_CHARS)


class NotANotification(ValueError):
    """The body is not this platform's notification envelope."""


@dataclass(frozen=True)
class Engagement:
    platform: str
    remote_id: str        # the post, as our publisher recorded it
    kind: str             # like | comment | share
    delta: int            # +1, or -1 when the platform says it was taken back
    key: str              # the platform's identity of this notification: retries repeat it
    occurred_at: str | None = None

    @property
    def counter(self) -> str:
        return f"{self.kind}s"


def well_formed(engagement: Engagement) -> bool:
    """Could this be engagement on one of our posts, with an identity an event can carry?"""
    return bool(_POST_ID.fullmatch(engagement.remote_id) and _KEY.fullmatch(engagement.key))


def _brief(value: Any) -> str:
    """A value for an error message: short, whatever its type, size or depth."""
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if value is None or isinstance(value, bool | float) or (isinstance(value, int) and abs(value) < 10**40):
        return repr(value)
    return f"a JSON {'number' if isinstance(value, int) else type(value).__name__}"


def _iso(seconds: float | int | str | None, scale: float = 1.0) -> str | None:
    try:
        return datetime.fromtimestamp(float(seconds) / scale, UTC).isoformat()  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _list(doc: dict[str, Any], name: str) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        raise NotANotification(f"{name} is not a list")
    return value


def _meta_changes(doc: dict[str, Any], expected_object: str):
    if doc.get("object") != expected_object:
        raise NotANotification(f"object is {_brief(doc.get('object'))}, expected {expected_object!r}")
    for entry in _list(doc, "entry"):
        if not isinstance(entry, dict):
            raise NotANotification("entry item is not an object")
        for change in _list(entry, "changes"):
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                yield entry, change.get("field"), change["value"]


# Reactions (of which a like is one) arrive as item "reaction"; the older item "like" is not
# counted as well, lest one action count twice. "share" is in Meta's item list but no captured
# payload shows it on a Page post (UNCONFIRMED).
_FACEBOOK_KINDS = {"reaction": "like", "comment": "comment", "share": "share"}


def _facebook(doc: dict[str, Any]) -> list[Engagement]:
    found = []
    for entry, field, value in _meta_changes(doc, "page"):
        kind = _FACEBOOK_KINDS.get(str(value.get("item")))
        verb = value.get("verb")
        post_id = value.get("post_id")
        if field != "feed" or kind is None or verb not in ("add", "remove") or not post_id:
            continue
        if kind == "like" and value.get("comment_id"):
            continue   # a reaction to a comment, not to the post
        sender = (value.get("from") or {}).get("id") if isinstance(value.get("from"), dict) else None
        if sender is not None and str(sender) == str(entry.get("id")):
            continue   # the Page itself (e.g. the post being created, or our own reply)
        who = value.get("comment_id") or sender or ""
        when = value.get("created_time")
        found.append(Engagement("facebook", str(post_id), kind, 1 if verb == "add" else -1,
                                f"{value.get('item')}:{verb}:{post_id}:{who}:{when}", _iso(when)))
    return found


def _instagram(doc: dict[str, Any]) -> list[Engagement]:
    found = []
    for entry, field, value in _meta_changes(doc, "instagram"):
        media = value.get("media") if isinstance(value.get("media"), dict) else {}
        if field != "comments" or not value.get("id") or not media.get("id"):
            continue
        if str((value.get("from") or {}).get("id", "")) == str(entry.get("id")):
            continue   # our own account's reply
        found.append(Engagement("instagram", str(media["id"]), "comment", 1, f"comment:{value['id']}",
                                _iso(entry.get("time"))))
    return found


def _x(doc: dict[str, Any]) -> list[Engagement]:
    me = str(doc.get("for_user_id") or "")
    if not me:
        raise NotANotification("no for_user_id")
    found = []
    for event in _list(doc, "favorite_events"):
        status = event.get("favorited_status") if isinstance(event, dict) else None
        if not isinstance(status, dict) or str((status.get("user") or {}).get("id_str")) != me:
            continue   # we liked someone else's post
        if str((event.get("user") or {}).get("id_str")) == me:
            continue   # we liked our own post
        found.append(Engagement("x", str(status.get("id_str")), "like", 1, f"favorite:{event.get('id')}",
                                _iso(event.get("timestamp_ms"), 1000)))
    for tweet in _list(doc, "tweet_create_events"):
        if not isinstance(tweet, dict) or str((tweet.get("user") or {}).get("id_str")) == me:
            continue   # our own posts
        when, key = _iso(tweet.get("timestamp_ms"), 1000), f"tweet:{tweet.get('id_str')}"
        for shared in (tweet.get("retweeted_status"), tweet.get("quoted_status")):
            if isinstance(shared, dict) and str((shared.get("user") or {}).get("id_str")) == me:
                found.append(Engagement("x", str(shared.get("id_str")), "share", 1, key, when))
                break
        else:
            if tweet.get("in_reply_to_status_id_str") and str(tweet.get("in_reply_to_user_id_str")) == me:
                found.append(Engagement("x", str(tweet["in_reply_to_status_id_str"]), "comment", 1, key, when))
    return found


_LINKEDIN_ACTIONS = {"LIKE": ("like", 1), "COMMENT": ("comment", 1), "SHARE": ("share", 1),
                     "COMMENT_DELETE": ("comment", -1)}


def _linkedin(doc: dict[str, Any]) -> list[Engagement]:
    if "notifications" not in doc:
        raise NotANotification("no notifications list")
    found = []
    for item in _list(doc, "notifications"):
        if not isinstance(item, dict):
            continue
        action = _LINKEDIN_ACTIONS.get(str(item.get("action")))
        if action is None or not item.get("sourcePost") or item.get("notificationId") is None:
            continue
        found.append(Engagement("linkedin", str(item["sourcePost"]), action[0], action[1],
                                f"notification:{item['notificationId']}", _iso(item.get("lastModifiedAt"), 1000)))
    return found


_PARSERS = {"facebook": _facebook, "instagram": _instagram, "x": _x, "linkedin": _linkedin}


def engagements(platform: str, doc: Any) -> list[Engagement]:
    """The engagement one notification body reports (possibly none)."""
    if not isinstance(doc, dict):
        raise NotANotification("body is not a JSON object")
    try:
        return _PARSERS[platform](doc)
    except NotANotification:
        raise
    except (AttributeError, TypeError, KeyError, ValueError) as exc:   # a field of an unexpected type
        raise NotANotification(f"unexpected {platform} notification shape: {str(exc)[:200]!r}") from exc
    except RecursionError as exc:   # a field nested too deeply to turn into a string
        raise NotANotification(f"{platform} notification nested too deeply") from exc
