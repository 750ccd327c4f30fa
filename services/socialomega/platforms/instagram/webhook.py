"""Instagram webhooks: Meta's challenge and signature (`platforms/meta/webhook.py`), and the
`comments` changes as engagement: `value.id` (the comment), `value.media.id` (our media id).
Instagram sends no like notifications; likes would have to be polled (not done).
"""

from __future__ import annotations

from typing import Any

from socialomega.platforms.meta.webhook import SECRET_KEY, answer_challenge, changes, verify_signature
from socialomega.webhooks.engagement import Engagement, iso_time

__all__ = ["SECRET_KEY", "answer_challenge", "engagements", "verify_signature"]


def engagements(doc: dict[str, Any]) -> list[Engagement]:
    found = []
    for entry, field, value in changes(doc, "instagram"):
        media = value.get("media")
        if not isinstance(media, dict):
            media = {}
        if field != "comments" or not value.get("id") or not media.get("id"):
            continue
        if str((value.get("from") or {}).get("id", "")) == str(entry.get("id")):
            continue  # our own account's reply
        found.append(
            Engagement(
                "instagram", str(media["id"]), "comment", 1, f"comment:{value['id']}", iso_time(entry.get("time"))
            )
        )
    return found
