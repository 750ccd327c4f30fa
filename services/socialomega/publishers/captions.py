"""The one caption builder: Lightroom metadata -> caption, hashtags and alt text per platform.

A target may set `caption_template` (Jinja2, sandboxed) over the tokens `title`, `caption`
(the description), `description`, `keywords`, `hashtags` (already ranked and capped),
`camera`, `lens` and `date`. The result is fitted to the platform's limit: hashtags are
dropped from the lowest rank first, then the text is shortened at a word boundary.

Limits (../shared/reference/platform-apis.md): Instagram 2,200 characters and, since
December 2025, at most 5 hashtags; X 280 weighted characters (see `x_weighted_length`);
LinkedIn commentary 3,000; Facebook 63,206 (the post limit; captions are rarely near it).
Alt text comes from the description (or the title), at most 1,000 characters, which is
Instagram's and X's limit; we use it everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from socialomega.core.config import ConfigError


@dataclass(frozen=True)
class CaptionRules:
    max_length: int
    max_hashtags: int | None = None
    weighted: bool = False  # X counts weighted characters and URLs as 23


RULES: dict[str, CaptionRules] = {
    "instagram": CaptionRules(2200, max_hashtags=5),
    "x": CaptionRules(280, weighted=True),
    "linkedin": CaptionRules(3000),
    "facebook": CaptionRules(63206),
    "rest": CaptionRules(10000),
}
ALT_TEXT_MAX = 1000
DEFAULT_TEMPLATE = "{{ title }}\n\n{{ caption }}\n\n{{ hashtags }}"
ELLIPSIS = "\u2026"

# twitter-text v3 configuration: code points in these ranges weigh 1, all others 2;
# a URL always weighs 23; the limit is 280.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_X_URL_LENGTH = 23
_URL = re.compile(r"(?i)\b(?:https?://[^\s]+|www\.[^\s]+|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|ly|me|app|dev)(?:/[^\s]*)?)")

_env = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def x_weighted_length(text: str) -> int:
    """Length as X counts it: NFC-normalised, URLs as 23, CJK and emoji as 2.
    Emoji sequences joined by ZWJ count each part, so this over-counts rather than under."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in _URL.finditer(text):
        total += _weigh(text[position:match.start()]) + _X_URL_LENGTH
        position = match.end()
    return total + _weigh(text[position:])


def _weigh(text: str) -> int:
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in _X_LIGHT_RANGES) else 2 for ch in text)


def hashtag(keyword: str) -> str | None:
    """`golden hour` -> `#GoldenHour`; None when nothing usable is left."""
    words = re.findall(r"\w+", keyword, flags=re.UNICODE)
    if not words:
        return None
    tag = "".join(w[:1].upper() + w[1:] if len(words) > 1 else w for w in words)
    return None if tag.isdigit() else f"#{tag}"


def ranked_hashtags(metadata: dict[str, Any], exclude: list[str] | None = None) -> list[str]:
    """Keywords as hashtags, best first: those the title or description mention, then the
    rest in Lightroom's order. Duplicates (case-insensitive) and excluded keywords are dropped."""
    text = f"{metadata.get('title') or ''} {metadata.get('description') or ''}".lower()
    excluded = {e.lower() for e in exclude or []}
    seen: set[str] = set()
    tags: list[tuple[int, int, str]] = []
    for index, keyword in enumerate(metadata.get("keywords") or []):
        tag = hashtag(str(keyword))
        if tag is None or str(keyword).lower() in excluded or tag.lower() in seen:
            continue
        seen.add(tag.lower())
        tags.append((0 if str(keyword).lower() in text else 1, index, tag))
    return [tag for _, _, tag in sorted(tags)]


@dataclass(frozen=True)
class Caption:
    text: str
    alt_text: str
    hashtags: tuple[str, ...]


def build_caption(platform: str, metadata: dict[str, Any], target: dict[str, Any] | None = None) -> Caption:
    """The caption and alt text for one target. `target` may carry `caption_template`,
    `max_hashtags`, `exclude_keywords` and `caption_max_length` overrides."""
    target = target or {}
    rules = RULES.get(platform, RULES["rest"])
    limit = int(target.get("caption_max_length") or rules.max_length)
    cap = target.get("max_hashtags", rules.max_hashtags)
    if rules.max_hashtags is not None and cap is not None:
        cap = min(int(cap), rules.max_hashtags)  # never above the platform's own cap
    tags = ranked_hashtags(metadata, target.get("exclude_keywords"))
    if cap is not None:
        tags = tags[: int(cap)]
    measure = x_weighted_length if rules.weighted else len
    template = target.get("caption_template") or DEFAULT_TEMPLATE
    while True:
        text = _render(template, metadata, tags)
        if measure(text) <= limit or not tags:
            break
        tags = tags[:-1]  # drop the lowest-ranked hashtag first
    if measure(text) > limit:
        text = _shorten(text, limit, measure)
    return Caption(text=text, alt_text=alt_text(metadata), hashtags=tuple(tags))


def alt_text(metadata: dict[str, Any], limit: int = ALT_TEXT_MAX) -> str:
    text = " ".join(str(metadata.get("description") or metadata.get("title") or "").split())
    return _shorten(text, limit, len) if len(text) > limit else text


def _render(template: str, metadata: dict[str, Any], tags: list[str]) -> str:
    context = {
        "title": metadata.get("title") or "",
        "caption": metadata.get("description") or "",
        "description": metadata.get("description") or "",
        "keywords": list(metadata.get("keywords") or []),
        "hashtags": " ".join(tags),
        "camera": metadata.get("camera") or "",
        "lens": metadata.get("lens") or "",
        "date": str(metadata.get("capture_date") or "")[:10],
    }
    try:
        rendered = _env.from_string(template).render(**context)
    except Exception as exc:  # a broken template is the operator's to fix
        raise ConfigError(f"caption_template does not render: {exc}") from exc
    # Empty tokens leave blank runs; keep at most one empty line between parts.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in rendered.strip().splitlines())).strip()


def _shorten(text: str, limit: int, measure: Any) -> str:
    """Cut at a word boundary so that text + ellipsis fits `limit`."""
    # Every character weighs at least 1 and a URL at most its own length... except that a
    # long URL weighs 23: keep generous headroom, then trim word by word.
    words = text[: limit * 4].split(" ")
    while words and measure(" ".join(words) + ELLIPSIS) > limit:
        words.pop()
    if words:
        return " ".join(words).rstrip() + ELLIPSIS
    cut = text
    while cut and measure(cut + ELLIPSIS) > limit:
        cut = cut[:-1]
    return cut + ELLIPSIS
