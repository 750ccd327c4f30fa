"""The one caption builder: Lightroom metadata -> caption, hashtags and alt text per platform.

A target may set `caption_template` (Jinja2, sandboxed) over the tokens `title`, `caption`
(the description), `description`, `keywords`, `hashtags` (already ranked and capped),
`camera`, `lens` and `date`. The photographer's `so:` keywords (planning/keywords.py) are in
neither `keywords` nor `hashtags`. The result is fitted to the platform's limit: hashtags are
dropped from the lowest rank first, then the text is shortened at a word boundary.

Each platform's limits are its `CaptionRules`, in its package (`socialomega/platforms/<name>/`,
with their sources): a length, a hashtag cap, and whether the length is counted as X counts
(`x_weighted_length`). Alt text comes from the description (or the title), at most 1,000
characters, which is Instagram's and X's limit; we use it everywhere.

Anyone who can write Lightroom metadata controls the input, so the work is bounded and
linear in its size (a security review measured the old builder at 10-20 s for 20-400 KB):
- the inputs are capped before any work (`_capped`): title, description, camera and lens
  at their `FIELD_NON_SPACE_CAP`-th non-whitespace character (more if the limit needs
  it; see `_longest_fitting`) and at `FIELD_HARD_CAP` characters in all; the first
  `MAX_KEYWORDS` keywords, each at most `MAX_KEYWORD_CHARS` characters;
- hashtags are fitted by a binary search over how many to keep (O(log n) renders);
- a text is shortened with one search for the cut instead of word-by-word re-measuring;
- the X measure is a regular expression without backtracking plus a C-speed count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from socialomega import platforms
from socialomega.core.config import ConfigError
from socialomega.planning.keywords import plan_from, publishing_keywords
from socialomega.platforms.base import CaptionRules

# Every platform's rules, from the registry; a platform without its own gets the generic REST's.
RULES: Mapping[str, CaptionRules] = {name: platform.caption for name, platform in platforms.PLATFORMS.items()}
ALT_TEXT_MAX = 1000
DEFAULT_TEMPLATE = "{{ title }}\n\n{{ caption }}\n\n{{ hashtags }}"
# What reads as a hashtag in a caption's text (as the platforms and the sandbox fakes count them).
_TEXT_HASHTAG = re.compile(r"(?<!\w)#\w+")
ELLIPSIS = "\u2026"

# Input caps. Every non-whitespace character of a field survives rendering (only blank lines
# and trailing spaces are collapsed), so a field with more non-whitespace characters than the
# longest text that can fit the limit never fits, and the shortened caption only depends on
# its first `_longest_fitting(limit)` characters: cutting a field there changes no result.
# 64 Ki is above Facebook's 63,206, the largest limit measured in characters; X needs more
# (URLs weigh 23 whatever their length up to 4,096), so the cap grows with the limit.
FIELD_NON_SPACE_CAP = 65_536
# A field made almost only of whitespace is not cut by the cap above: stop it at 1 Mi
# characters in all (the payload contract already caps a title or description at 64 Ki).
FIELD_HARD_CAP = 1_048_576
# Photos carry tens of keywords; Instagram takes 5 hashtags and X fits fewer than 100. The same
# caps as the payload contract (contracts.payloads); they bound the ranking and the renders.
MAX_KEYWORDS = 500
MAX_KEYWORD_CHARS = 256

# twitter-text v3 configuration: code points in these ranges weigh 1, all others 2;
# a URL weighs 23 unless it is longer than 4,096 characters counting the "https://" the
# backend adds when there is none (twitter-text's MAX_URL_LENGTH), then it is plain text.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_X_URL_LENGTH = 23
_X_MAX_URL_LENGTH = 4096
_X_ADDED_PROTOCOL = len("https://")
# NFC composes at most 4 code points into one (U+1F82 is alpha + 3 marks), so a raw text is
# at most 4x as long as its NFC form (checked against unicodedata by the unit tests).
_NFC_MAX_COMPOSITION = 4
_X_LIGHT = re.compile("[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in _X_LIGHT_RANGES) + "]+")
_PROTOCOL = re.compile(r"(?i)https?://")

# URLs as X sees them (group `url`), found in linear time. The domain form takes the last
# dot-label that starts with a known TLD, so a failed attempt reads the rest of its run of
# [a-z0-9.-]; any later start inside that run fails as well (its labels are a subset), so
# the second branch consumes the run (up to where `http(s)://` or `www.` could start) and
# the scan goes on after it. Labels are possessive: giving back characters cannot help, the
# character after a shortened label is a label character, never the dot the rest needs.
_GUARDED = r"(?:(?!\b(?:https?://|www\.))[a-z0-9-])"
_URL = re.compile(
    r"(?i)\b(?:(?P<url>https?://[^\s]+|www\.[^\s]+"
    r"|[a-z0-9-]++(?:\.[a-z0-9-]++)*\.(?:com|net|org|io|co|ly|me|app|dev)(?:/[^\s]*)?)"
    rf"|(?=[a-z0-9]*+[-.][a-z0-9-]){_GUARDED}(?:{_GUARDED}|\.(?={_GUARDED}))*+)"
)

_NON_SPACE_RUN = re.compile(r"\S+")
_SPACE_RUN = re.compile(r"\s+")

_env = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def x_weighted_length(text: str) -> int:
    """Length as X counts it: NFC-normalised, URLs as 23, CJK and emoji as 2.
    Where this cannot tell what X links, it over-counts rather than under (a caption cut to a
    count that is too low is refused): emoji sequences joined by ZWJ count each part, and a
    bare domain with a top-level domain outside `_URL`'s list counts as at least 23."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for match in _URL.finditer(text):
        url = match.group("url")
        if url is None:  # a run that holds no URL
            continue
        if match.start() and text[match.start() - 1] in "@$#":
            continue  # twitter-text links nothing right after @, $ or # (e-mail, cashtag, hashtag)
        url = _without_trailing_punctuation(url)
        if len(url) + (0 if _PROTOCOL.match(url) else _X_ADDED_PROTOCOL) > _X_MAX_URL_LENGTH:
            continue  # too long for X to link: plain text
        total += _weigh_text(text[position : match.start()]) + _X_URL_LENGTH
        position = match.start() + len(url)
    return total + _weigh_text(text[position:])


# Trailing characters twitter-text leaves out of a URL; a ")" only when it closes nothing in it.
_URL_TRAILING = ".,;:!?'\""
# Dotted names in text that `_URL` did not take, not inside a path (runs start where no name
# character precedes, so each run is read once: linear).
_DOTTED_NAME = re.compile(r"(?i)(?<![a-z0-9.@$#_/:-])[a-z0-9-]++(?:\.[a-z0-9-]++)++")
_TLD = re.compile(r"(?i)[a-z]{2,63}")


def _without_trailing_punctuation(url: str) -> str:
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING or (last == ")" and url.count("(", 0, end) < url.count(")", 0, end)):
            end -= 1
            continue
        break
    return url[:end]


def _weigh_text(text: str) -> int:
    """Text between links, where a name such as `example.de` may still be a link to X (its list
    of top-level domains is far longer than ours): such a name weighs at least 23."""
    total, covered = _weigh(text), 0
    for name in _DOTTED_NAME.finditer(text):
        if name.start() < covered or not _TLD.fullmatch(name.group().rsplit(".", 1)[1]):
            continue  # inside the path of the link before it (also keeps this linear)
        end = name.end()
        if text.startswith("/", end):  # the link would take its path too
            space = _SPACE_RUN.search(text, end)
            end = space.start() if space else len(text)
        link, covered = text[name.start() : end], end
        if len(link) + _X_ADDED_PROTOCOL <= _X_MAX_URL_LENGTH:
            total += max(0, _X_URL_LENGTH - _weigh(link))
    return total


def _weigh(text: str) -> int:
    return len(text) + len(_X_LIGHT.sub("", text))  # every character 1, the heavy ones once more


def _longest_fitting(limit: int, weighted: bool) -> int:
    """No text longer than this (in code points) measures at most `limit`."""
    if not weighted:
        return limit
    # At most limit // 23 URLs of at most 4,096 characters each; the rest weighs >= 1 a piece.
    urls = limit // _X_URL_LENGTH
    return _NFC_MAX_COMPOSITION * (limit + urls * (_X_MAX_URL_LENGTH - _X_URL_LENGTH))


def hashtag(keyword: str) -> str | None:
    """`golden hour` -> `#GoldenHour`; None when nothing usable is left."""
    words = re.findall(r"\w+", keyword, flags=re.UNICODE)
    if not words:
        return None
    tag = "".join(w[:1].upper() + w[1:] if len(words) > 1 else w for w in words)
    return None if tag.isdigit() else f"#{tag}"


def ranked_hashtags(metadata: dict[str, Any], exclude: list[str] | None = None) -> list[str]:
    """Keywords as hashtags, best first: those the title or description mention, then the
    rest in Lightroom's order. Duplicates (case-insensitive) and excluded keywords are dropped.
    Mentions are looked for in the capped title and description (see `FIELD_NON_SPACE_CAP`)."""
    text = " ".join(
        _cap_text(str(metadata.get(key) or ""), FIELD_NON_SPACE_CAP) for key in ("title", "description")
    ).lower()
    excluded = {e.lower() for e in exclude or []}
    seen: set[str] = set()
    tags: list[tuple[int, int, str]] = []
    for index, keyword in enumerate(_capped_keywords(metadata.get("keywords"))):
        keyword = str(keyword)[:MAX_KEYWORD_CHARS]
        tag = hashtag(keyword)
        if tag is None or keyword.lower() in excluded or tag.lower() in seen:
            continue
        seen.add(tag.lower())
        tags.append((0 if keyword.lower() in text else 1, index, tag))
    return [tag for _, _, tag in sorted(tags)]


@dataclass(frozen=True)
class Caption:
    text: str
    alt_text: str
    hashtags: tuple[str, ...]


def build_caption(platform: str, metadata: dict[str, Any], target: dict[str, Any] | None = None) -> Caption:
    """The caption and alt text for one target. `target` may carry `caption_template`,
    `max_hashtags`, `exclude_keywords` and `caption_max_length` overrides. A photo's
    `so:caption:<target or platform>:<text>` keyword (planning/keywords.py) replaces the
    template's caption for that target: its text as written, only shortened to the limit."""
    target = target or {}
    rules = RULES.get(platform, RULES["rest"])
    limit = max(1, int(target.get("caption_max_length") or rules.max_length))  # room for "…"
    longest = _longest_fitting(limit, rules.weighted)
    override = plan_from(metadata).caption_for(str(target.get("name") or ""), platform)
    if override is not None:  # the photographer's own words for this platform (so:caption): as written, fitted
        metadata = _capped(metadata, max(FIELD_NON_SPACE_CAP, longest + 1))
        measure_override = x_weighted_length if rules.weighted else len
        fits_as_is = len(override) <= longest and measure_override(override) <= limit
        text = override if fits_as_is else _shorten(override, limit, rules.weighted)
        return Caption(text=text, alt_text=alt_text(metadata), hashtags=())
    metadata = _capped(metadata, max(FIELD_NON_SPACE_CAP, longest + 1))
    cap = target.get("max_hashtags", rules.max_hashtags)
    if rules.max_hashtags is not None and cap is not None:
        cap = min(int(cap), rules.max_hashtags)  # never above the platform's own cap
    tags = ranked_hashtags(metadata, target.get("exclude_keywords"))
    measure = x_weighted_length if rules.weighted else len

    def fits(candidate: str) -> bool:
        return len(candidate) <= longest and measure(candidate) <= limit  # the first test is O(1)

    render = _renderer(target.get("caption_template") or DEFAULT_TEMPLATE, metadata)
    if cap is not None:
        # A platform counts every hashtag of the caption, those in the title or description
        # too ("Sunset #2"): only what is left of its cap goes to keywords. Whether Instagram
        # counts a tag of digits only is UNCONFIRMED; counting it is the side that never fails.
        tags = tags[: max(0, int(cap) - len(_TEXT_HASHTAG.findall(render([]))))]
    text = render(tags)
    if not fits(text) and tags:
        bare = render([])
        if not fits(bare):
            tags, text = [], bare
        else:  # keep the most tags that fit, dropping the lowest-ranked first: O(log n) renders
            kept, too_many = 0, len(tags)
            text = bare
            while too_many - kept > 1:
                middle = (kept + too_many) // 2
                candidate = render(tags[:middle])
                if fits(candidate):
                    kept, text = middle, candidate
                else:
                    too_many = middle
            tags = tags[:kept]
    if not fits(text):
        text = _shorten(text, limit, rules.weighted)
    return Caption(text=text, alt_text=alt_text(metadata), hashtags=tuple(tags))


def alt_text(metadata: dict[str, Any], limit: int = ALT_TEXT_MAX) -> str:
    limit = max(1, limit)
    source = _cap_text(
        str(metadata.get("description") or metadata.get("title") or ""), max(FIELD_NON_SPACE_CAP, limit + 1)
    )
    text = " ".join(source.split())
    return _shorten(text, limit) if len(text) > limit else text


def _capped(metadata: dict[str, Any], non_space_cap: int) -> dict[str, Any]:
    """A copy of `metadata` with the text fields and keywords capped (see the module doc)."""
    capped = dict(metadata)
    for key in ("title", "description", "camera", "lens"):
        if isinstance(capped.get(key), str):
            capped[key] = _cap_text(capped[key], non_space_cap)
    if capped.get("keywords"):
        capped["keywords"] = [
            k[:MAX_KEYWORD_CHARS] if isinstance(k, str) else k for k in _capped_keywords(capped["keywords"])
        ]
    return capped


def _capped_keywords(keywords: Any) -> list[Any]:
    # `so:` keywords are the photographer's publishing choices (planning/keywords.py): never
    # hashtags, never in the template's `keywords`.
    return publishing_keywords(islice(keywords or [], MAX_KEYWORDS))


def _cap_text(text: str, non_space_cap: int) -> str:
    """`text` up to its `non_space_cap`-th non-whitespace character (and at most
    FIELD_HARD_CAP characters). Linear, with O(len / 4096) steps in Python."""
    text = text[:FIELD_HARD_CAP]
    if len(text) <= non_space_cap:
        return text
    position, wanted = 0, non_space_cap
    while position < len(text):
        chunk = text[position : position + max(wanted, 4096)]
        found = len(chunk) - sum(len(run) for run in _SPACE_RUN.findall(chunk))
        if found < wanted:
            wanted -= found
            position += len(chunk)
            continue
        if found == len(chunk):  # no whitespace at all: the cut is `wanted` characters on
            return text[: position + wanted]
        for run in _NON_SPACE_RUN.finditer(chunk):  # here the chunk is at most 4,096 long
            if run.end() - run.start() >= wanted:
                return text[: position + run.start() + wanted]
            wanted -= run.end() - run.start()
    return text


def _renderer(template: str, metadata: dict[str, Any]) -> Callable[[list[str]], str]:
    """Compiles the template once; the result renders it with a given list of hashtags."""
    try:
        compiled = _env.from_string(template)
    except Exception as exc:  # a broken template is the operator's to fix
        raise ConfigError(f"caption_template does not render: {exc}") from exc
    keywords = list(metadata.get("keywords") or [])
    context = {
        "title": metadata.get("title") or "",
        "caption": metadata.get("description") or "",
        "description": metadata.get("description") or "",
        "camera": metadata.get("camera") or "",
        "lens": metadata.get("lens") or "",
        "date": str(metadata.get("capture_date") or "")[:10],
    }

    def render(tags: list[str]) -> str:
        try:
            rendered = compiled.render(**context, keywords=list(keywords), hashtags=" ".join(tags))
        except Exception as exc:  # a broken template is the operator's to fix
            raise ConfigError(f"caption_template does not render: {exc}") from exc
        # Empty tokens leave blank runs; keep at most one empty line between parts.
        lines = "\n".join(line.rstrip() for line in rendered.strip().splitlines())
        return re.sub(r"\n{3,}", "\n\n", lines).strip()

    return render


def _shorten(text: str, limit: int, weighted: bool = False) -> str:
    """Cut at a word boundary so that text + ellipsis fits `limit` (>= 1); a word longer than
    that is cut at a character. O(n) by characters, O(n log n) by X's weight."""
    if not weighted:  # the last space that leaves room for the ellipsis
        space = text.rfind(" ", 0, limit)
        return (text[:space].rstrip() if space >= 0 else text[: limit - 1]) + ELLIPSIS

    # Every character weighs at least 1 and a URL at most its own length... except that a
    # long URL weighs 23: keep generous headroom.
    window = text[: limit * 4]

    def fits(end: int) -> bool:
        return x_weighted_length(window[:end] + ELLIPSIS) <= limit

    # The most words that fit: a longer prefix weighs more, so search. Each probe is O(window).
    ends = [space.start() for space in re.finditer(" ", window)] + [len(window)]
    fitting, too_long = -1, len(ends)
    while too_long - fitting > 1:
        middle = (fitting + too_long) // 2
        if fits(ends[middle]):
            fitting = middle
        else:
            too_long = middle
    if fitting >= 0:
        shortened = window[: ends[fitting]].rstrip() + ELLIPSIS
        # Stripping never adds weight, save for a URL that the ellipsis would push past 4,096.
        return shortened if x_weighted_length(shortened) <= limit else window[: ends[fitting]] + ELLIPSIS
    # Not even the first word fits (so ends[0] does not): the most characters of it that do.
    if not fits(0):  # a limit below the ellipsis' own weight (U+2026 weighs 2 on X)
        return ""
    fitting, too_long = 0, ends[0]
    while too_long - fitting > 1:
        middle = (fitting + too_long) // 2
        if fits(middle):
            fitting = middle
        else:
            too_long = middle
    return window[:fitting] + ELLIPSIS
