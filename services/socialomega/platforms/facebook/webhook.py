"""Facebook Page webhooks: Meta's challenge and signature (`platforms/meta/webhook.py`), and the
Page `feed` changes as engagement.

`value.item` reaction|like|comment|share, `value.verb` add|remove, `value.post_id`
"<page>_<post>" (the id our publisher records). Shape taken from captured payloads; the field
list is UNCONFIRMED against Meta's reference.
"""

from __future__ import annotations

from typing import Any

from socialomega.platforms.meta.webhook import SECRET_KEY, answer_challenge, changes, verify_signature
from socialomega.webhooks.engagement import Engagement, EngagementKind, iso_time

__all__ = ["SECRET_KEY", "answer_challenge", "engagements", "verify_signature"]

# Reactions (of which a like is one) arrive as item "reaction"; the older item "like" is not
# counted as well, lest one action count twice. "share" is in Meta's item list but no captured
# payload shows it on a Page post (UNCONFIRMED).
_KINDS: dict[str, EngagementKind] = {"reaction": "like", "comment": "comment", "share": "share"}


def engagements(doc: dict[str, Any]) -> list[Engagement]:
    found = []
    for entry, field, value in changes(doc, "page"):
        kind = _KINDS.get(str(value.get("item")))
        verb = value.get("verb")
        post_id = value.get("post_id")
        if field != "feed" or kind is None or verb not in ("add", "remove") or not post_id:
            continue
        if kind == "like" and value.get("comment_id"):
            continue  # a reaction to a comment, not to the post
        sender = (value.get("from") or {}).get("id") if isinstance(value.get("from"), dict) else None
        if sender is not None and str(sender) == str(entry.get("id")):
            continue  # the Page itself (e.g. the post being created, or our own reply)
        who = value.get("comment_id") or sender or ""
        when = value.get("created_time")
        found.append(
            Engagement(
                "facebook",
                str(post_id),
                kind,
                1 if verb == "add" else -1,
                f"{value.get('item')}:{verb}:{post_id}:{who}:{when}",
                iso_time(when),
            )
        )
    return found
