"""Per-photo publishing choices, written as Lightroom keywords or in an inbox sidecar.

For photographers
=================

Give a photo keywords that start with `so:` to choose where, when and how it is published.
Upper or lower case makes no difference. SocialOmega reads these keywords and leaves them out of
everything it posts: they never become hashtags and never appear in a caption.

| keyword                         | what it does                                   | example                          |
| ------------------------------- | ---------------------------------------------- | -------------------------------- |
| `so:only:<target>`              | publish only to these targets                  | `so:only:instagram`              |
| `so:skip:<target>`              | publish everywhere except these targets        | `so:skip:linkedin`               |
| `so:at:<date> <time>`           | publish at that moment (24-hour clock)         | `so:at:2026-12-05 09:00`         |
| `so:next`                       | publish in each target's next free slot        | `so:next`                        |
| `so:crop:<anchor>`              | where the crop sits when a shape is cut out    | `so:crop:attention`              |
| `so:caption:<target>:<text>`    | this text is the caption there                 | `so:caption:x:Winter light`      |

Targets. `<target>` is the name of a target as your operator set it up (e.g. `ig-main`) or the
name of a platform (`instagram`, `facebook`, `x`, `linkedin`, `rest`), which means every target
on that platform. Repeat the keyword for several targets (`so:only:instagram` and `so:only:x`);
`so:only:instagram,x` means the same where commas can be kept (the sidecar, tools that write
keywords; Lightroom's keyword box splits what you type at commas). `so:skip` wins over
`so:only`: `so:only:instagram` with `so:skip:ig-backup` publishes to every Instagram target but
`ig-backup`. A name that is neither a target nor a platform is reported. If `so:only` names
nothing that exists, the photo is published nowhere: a post cannot be taken back, a keyword can
be corrected (in Lightroom, editing keywords makes a new version of the photo, UNCONFIRMED for
every kind of edit; in the inbox, upload the JPEG again: a changed sidecar alone is not new).

When. `so:at:` takes a date and a time, `2026-12-05 09:00` or `2026-12-05T09:00` (seconds are
optional), followed by one of:
- nothing: the operator's default time zone (UTC unless they set another);
- an offset from UTC: `so:at:2026-12-05T09:00+01:00` (also `+0100`, `+01`, and `Z` for UTC);
- a time-zone name, after a space: `so:at:2026-12-05 09:00 Europe/Berlin` (the IANA names, as
  in https://en.wikipedia.org/wiki/List_of_tz_database_time_zones; `UTC` always works).
A time that a clock change skips (02:30 on the night summer time starts) is moved forward by the
change (03:30) and reported; a time that happens twice (the night it ends) is the first one.
`so:next` puts the photo in each target's next free slot instead. `so:at` and `so:next`
exclude each other: the first one read is used and the other is reported.

Crop anchors. `centre` (or `center`): the middle; `attention`: the most eye-catching part, as
the image library (libvips' "attention" strategy) finds it; `north` (or `top`), `south` (or
`bottom`), `east` (or `right`), `west` (or `left`): keep that edge of the picture.

Captions. Everything after the second colon is the caption, spaces and capitals kept:
`so:caption:instagram:Frost, finally.` A target's own caption wins over its platform's. A
caption is at most 2,200 characters (Instagram's limit; a longer one is cut and reported) and
the platform's own limit still applies. A Lightroom keyword carries at most 256 characters here,
so a long caption, or one with commas typed into Lightroom, belongs in the sidecar.

Inbox photos. The sidecar (`photo.json` beside `photo.jpg`) takes the same choices in a
`publish` object, and they add to the photo's keywords:

    {"title": "Winter light", "keywords": ["winter"],
     "publish": {"only": ["instagram", "x"], "skip": ["ig-backup"],
                 "at": "2026-12-05 09:00 Europe/Berlin", "next": false,
                 "crop": "attention", "captions": {"x": "Winter light on the Elbe"}}}

An empty list, `"next": false` or a missing field is no choice. Where keywords and sidecar both
give a time, a crop or the same caption and they differ, the keyword is used (keywords are read
first) and the difference is reported.

Mistakes. A `so:` keyword that cannot be read (an unknown word, a date that does not exist, an
unknown crop anchor) is reported on the photo's status with what is wrong and what would be
right; the photo's other choices still apply. At most 50 choices are read per photo (`so:`
keywords first, then sidecar values); the rest are reported and ignored.

UNCONFIRMED: that every Lightroom client keeps colons in keywords (no Adobe document found says).

For developers
==============

`plan_from(metadata)` reads `metadata["keywords"]` and the inbox's `metadata["publish"]` (and
`metadata["publish_problem"]`, what the inbox intake could not take from the sidecar) into a
`PhotoPlan`; it never raises on user input. `PhotoPlan.choose(targets)` picks the targets,
`target_problems(targets)` reports names that match no configured target, and
`publishing_keywords(keywords)` is what captions and hashtags may use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType
from typing import Any

from socialomega.contracts.payloads import MAX_KEYWORD
from socialomega.core import zones

PREFIX = "so:"
MAX_CHOICES = 50  # so: keywords, then sidecar values (each list entry, caption and field)
MAX_CAPTION_CHARS = 2200  # Instagram's caption limit (platforms/instagram)
MAX_PROBLEMS = 25  # what a photo's status shows; more are summed up in one last sentence
MAX_AT_CHARS = 100
SIDECAR_FIELDS = ("only", "skip", "at", "next", "crop", "captions")
DIRECTIVES = ("only", "skip", "at", "next", "crop", "caption")
# The spec's `interesting` values (processor/specs.py), and the words photographers also use.
CROP_ANCHORS: Mapping[str, str] = MappingProxyType(
    {
        "centre": "centre",
        "center": "centre",
        "attention": "attention",
        "north": "north",
        "top": "north",
        "south": "south",
        "bottom": "south",
        "east": "east",
        "right": "east",
        "west": "west",
        "left": "west",
    }
)
# Target names (core/targets.py) and platform names both fit this.
_NAME = re.compile(r"[a-z0-9-]{1,40}")
_AT = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?:T|\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:\s*(?P<z>Z)|\s*(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?|\s+(?P<zone>[A-Z][A-Z0-9_+/-]{0,63}))?",
    re.ASCII | re.IGNORECASE,
)
_AT_FORMS = (
    "write it as so:at:2026-12-05 09:00, optionally followed by an offset (+01:00) or a time-zone name (Europe/Berlin)"
)
_ANCHORS_TEXT = "centre, attention, north, south, east or west (or center, top, bottom, right, left)"
_QUOTE_CHARS = 80
ZONE_HINT = "use an IANA name such as Europe/Berlin, or an offset (+01:00)"


@dataclass(frozen=True)
class PhotoPlan:
    """What the photographer chose for one photo. The defaults are "no choice made"."""

    only: frozenset[str] | None = None  # None: every target; names and platforms, lower case
    skip: frozenset[str] = frozenset()
    at: datetime | None = None  # aware, UTC
    next_slot: bool = False
    crop: str | None = None  # one of the spec's `interesting` values
    captions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    problems: tuple[str, ...] = ()

    def choose(self, targets: Sequence[tuple[str, str]]) -> tuple[list[str], dict[str, str]]:
        """The chosen target names, in the given order, and why each other one is left out.
        `targets` are (name, platform) pairs; a value of so:only/so:skip matches either."""
        chosen: list[str] = []
        left_out: dict[str, str] = {}
        for name, platform in targets:
            keys = (name.lower(), platform.lower())
            skipped = next((key for key in keys if key in self.skip), None)
            if skipped is not None:
                left_out[name] = f"so:skip:{skipped}"
            elif self.only is not None and not any(key in self.only for key in keys):
                left_out[name] = f"not in so:only ({', '.join(sorted(self.only)) or 'no valid value'})"
            else:
                chosen.append(name)
        return chosen, left_out

    def target_problems(self, targets: Sequence[tuple[str, str]]) -> list[str]:
        """so:only, so:skip and so:caption values that name neither a target nor a platform of
        `targets` (name, platform): one sentence per keyword kind, for the photo's status."""
        known = {key.lower() for pair in targets for key in pair}
        configured = ", ".join(f"{name} ({platform})" for name, platform in targets) or "none"
        problems = []
        for kind, values in (("so:only", self.only or ()), ("so:skip", self.skip), ("so:caption", self.captions)):
            unknown = sorted(set(values) - known)
            if unknown:
                problems.append(
                    f"{kind} names {_listed(unknown)}: no target or platform here is called that; "
                    f"the targets are {configured}"
                )
        return problems

    def caption_for(self, target: str, platform: str) -> str | None:
        """The photographer's caption for this target: its own, else its platform's, else None."""
        return self.captions.get(target.lower()) or self.captions.get(platform.lower())

    def as_dict(self) -> dict[str, Any]:
        return {
            "only": sorted(self.only) if self.only is not None else None,
            "skip": sorted(self.skip),
            "at": self.at.isoformat() if self.at else None,
            "next_slot": self.next_slot,
            "crop": self.crop,
            "captions": dict(self.captions),
            "problems": list(self.problems),
        }


def is_planning_keyword(keyword: Any) -> bool:
    """A `so:` keyword (any case, leading spaces ignored), known to the vocabulary or not."""
    return isinstance(keyword, str) and keyword.lstrip()[: len(PREFIX)].lower() == PREFIX


def publishing_keywords(keywords: Iterable[str]) -> list[str]:
    """The keywords that are not `so:` keywords: what captions and hashtags may use."""
    return [keyword for keyword in keywords if not is_planning_keyword(keyword)]


def plan_from(metadata: Mapping[str, Any], default_zone: str = "UTC") -> PhotoPlan:
    """The plan of the photo's `so:` keywords and, for inbox photos, its sidecar's `publish`
    object. Never raises on the photo's metadata; what cannot be read is in `problems`."""
    reader = _Reader(default_zone)
    keywords = metadata.get("keywords")
    if isinstance(keywords, list):
        planning = [k.strip() for k in keywords if is_planning_keyword(k)]
        for keyword in planning[:MAX_CHOICES]:
            reader.guarded(f'keyword "{_quoted(keyword)}"', reader.keyword, keyword)
        reader.used = min(len(planning), MAX_CHOICES)
        if len(planning) > MAX_CHOICES:
            reader.problem(f"the photo has {len(planning)} so: keywords; only the first {MAX_CHOICES} were read")
    if isinstance(metadata.get("publish_problem"), str):
        reader.problem(f"sidecar publish: {metadata['publish_problem'][:300]}")
    if metadata.get("publish") is not None:
        reader.guarded("sidecar publish", reader.sidecar, metadata["publish"])
    return reader.plan()


# --- reading -----------------------------------------------------------------------------------


class _Reader:
    """Collects choices in reading order; the first value of a single choice wins."""

    def __init__(self, default_zone: str) -> None:
        self.default_zone = default_zone
        self.only: dict[str, str] | None = None  # value -> where it came from
        self.skip: dict[str, str] = {}
        self.when: tuple[datetime | None, str] | None = None  # (the time, or None for next; where)
        self.crop: tuple[str, str] | None = None
        self.captions: dict[str, tuple[str, str]] = {}
        self.problems: list[str] = []
        self.used = 0  # choices read so far, against MAX_CHOICES
        self.over_budget = 0

    def problem(self, sentence: str) -> None:
        self.problems.append(sentence)

    def guarded(self, where: str, read: Callable[[Any], None], value: Any) -> None:
        """`read(value)`, with anything it did not foresee reported instead of raised."""
        try:
            read(value)
        except Exception as exc:  # user input must never fail the photo
            self.problem(f"{where}: could not be read ({type(exc).__name__})")

    # Keywords: "so:<directive>[:<value>]".
    def keyword(self, keyword: str) -> None:
        where = f'keyword "{_quoted(keyword)}"'
        if len(keyword) >= MAX_KEYWORD:  # the poller keeps the first MAX_KEYWORD characters
            self.problem(
                f"{where}: is {len(keyword)} characters long, the most a keyword carries here, so its end may "
                "be missing; put long captions in the inbox sidecar"
            )
        directive, _, value = keyword[len(PREFIX) :].partition(":")
        directive, value = directive.strip().lower(), value.strip()
        if directive in ("only", "skip"):
            self.targets(directive, value, where)
        elif directive == "at":
            self.at(value, where)
        elif directive == "next":
            if value:
                self.problem(f"{where}: so:next takes no value; write so:next")
            else:
                self.next_slot(where)
        elif directive == "crop":
            self.crop_anchor(value, where)
        elif directive == "caption":
            key, separator, text = value.partition(":")
            if not separator:
                self.problem(f"{where}: write so:caption:<target or platform>:<text>, e.g. so:caption:x:Hello")
            else:
                self.caption(key, text, where)
        else:
            self.problem(
                f"{where}: not a SocialOmega keyword; the so: keywords are " + ", ".join(f"so:{d}" for d in DIRECTIVES)
            )

    # The sidecar's publish object: the same choices, as JSON fields.
    def sidecar(self, publish: Any) -> None:
        if not isinstance(publish, dict):
            self.problem(f"sidecar publish: must be a JSON object with {_fields()}, not {_json_type(publish)}")
            return
        for name, value in publish.items():
            where = f"sidecar publish.{_quoted(str(name))}"
            if name in ("only", "skip"):
                values = [value] if isinstance(value, str) else value
                if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                    self.problem(f'{where}: must be a list of target or platform names, e.g. ["instagram"]')
                    continue
                for entry in values:
                    if self.spend(where):
                        self.targets(name, entry, f'{where} "{_quoted(entry)}"')
            elif name == "at":
                if not isinstance(value, str):
                    self.problem(f'{where}: must be a string such as "2026-12-05 09:00 Europe/Berlin"')
                elif self.spend(where):
                    self.at(value.strip(), f'{where} "{_quoted(value)}"')
            elif name == "next":
                if not isinstance(value, bool):
                    self.problem(f"{where}: must be true or false, not {_json_type(value)}")
                elif value and self.spend(where):
                    self.next_slot(where)
            elif name == "crop":
                if not isinstance(value, str):
                    self.problem(f"{where}: must be one of {_ANCHORS_TEXT}")
                elif self.spend(where):
                    self.crop_anchor(value.strip(), f'{where} "{_quoted(value)}"')
            elif name == "captions":
                if not isinstance(value, dict):
                    self.problem(f'{where}: must be an object of captions, e.g. {{"x": "Hello"}}')
                    continue
                for key, text in value.items():
                    entry = f"{where}.{_quoted(str(key))}"
                    if not isinstance(text, str):
                        self.problem(f"{entry}: must be a string")
                    elif self.spend(entry):
                        self.caption(str(key), text, entry)
            else:
                self.problem(f"{where}: not a publish field; the fields are {_fields()}")

    def spend(self, where: str) -> bool:
        """Counts one sidecar value against MAX_CHOICES; False (reported once) past it."""
        if self.used < MAX_CHOICES:
            self.used += 1
            return True
        self.over_budget += 1
        if self.over_budget == 1:
            self.problem(f"{where}: the photo has more than {MAX_CHOICES} choices; the rest were not read")
        return False

    # The choices.
    def targets(self, kind: str, value: str, where: str) -> None:
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        if kind == "only" and self.only is None:
            self.only = {}  # a so:only without a valid value still restricts: nowhere
        chosen = self.only if kind == "only" else self.skip
        assert chosen is not None
        if not names:
            self.problem(f"{where}: so:{kind} needs a target or platform name, e.g. so:{kind}:instagram")
        for name in names:
            if not _NAME.fullmatch(name):
                self.problem(
                    f'{where}: "{_quoted(name)}" is not a target or platform name '
                    "(lower-case letters, digits and -, at most 40)"
                )
            else:
                chosen.setdefault(name, where)

    def at(self, value: str, where: str) -> None:
        moment, trouble = _moment(value, self.default_zone)
        if moment is None:
            self.problem(f"{where}: {trouble}")
            return
        if trouble:  # read, with a remark (a time the clocks skip)
            self.problem(f"{where}: {trouble}")
        self.set_when(moment, where)

    def next_slot(self, where: str) -> None:
        self.set_when(None, where)

    def set_when(self, moment: datetime | None, where: str) -> None:
        if self.when is None:
            self.when = (moment, where)
        elif self.when[0] != moment:
            self.problem(f"{where}: conflicts with {self.when[1]}, which is read first and used")

    def crop_anchor(self, value: str, where: str) -> None:
        anchor = CROP_ANCHORS.get(value.lower())
        if anchor is None:
            self.problem(f'{where}: "{_quoted(value)}" is not a crop anchor; use {_ANCHORS_TEXT}')
        elif self.crop is None:
            self.crop = (anchor, where)
        elif self.crop[0] != anchor:
            self.problem(f"{where}: conflicts with {self.crop[1]}, which is read first and used")

    def caption(self, key: str, text: str, where: str) -> None:
        key, text = key.strip().lower(), text.strip()
        if not _NAME.fullmatch(key):
            self.problem(
                f'{where}: "{_quoted(key)}" is not a target or platform name; '
                "write so:caption:<target or platform>:<text>, e.g. so:caption:x:Hello"
            )
            return
        if not text:
            self.problem(f"{where}: the caption is empty; write the text after the name, e.g. so:caption:x:Hello")
            return
        if len(text) > MAX_CAPTION_CHARS:
            self.problem(
                f"{where}: the caption has {len(text):,} characters; it was cut to {MAX_CAPTION_CHARS:,} "
                "(Instagram's limit)"
            )
            text = text[:MAX_CAPTION_CHARS].rstrip()
        earlier = self.captions.get(key)
        if earlier is None:
            self.captions[key] = (text, where)
        elif earlier[0] != text:
            self.problem(f"{where}: conflicts with {earlier[1]}, which is read first and used")

    def plan(self) -> PhotoPlan:
        only, skip = self.only, self.skip
        if only is not None:
            for name in sorted(only.keys() & skip.keys()):
                self.problem(f"{skip[name]} and {only[name]} both name {name}; so:skip wins, {name} is skipped")
        problems = self.problems
        if len(problems) > MAX_PROBLEMS:
            problems = [*problems[: MAX_PROBLEMS - 1], f"and {len(problems) - MAX_PROBLEMS + 1} more problems"]
        when = self.when
        return PhotoPlan(
            only=frozenset(only) if only is not None else None,
            skip=frozenset(skip),
            at=when[0] if when else None,
            next_slot=when is not None and when[0] is None,
            crop=self.crop[0] if self.crop else None,
            captions=MappingProxyType({key: text for key, (text, _) in self.captions.items()}),
            problems=tuple(problems),
        )


def _moment(value: str, default_zone: str) -> tuple[datetime | None, str]:
    """The UTC moment `value` names and a remark, or (None, why it names none)."""
    if len(value) > MAX_AT_CHARS:
        return None, f"too long for a date and time; {_AT_FORMS}"
    match = _AT.fullmatch(value)
    if match is None:
        return None, f"not a date and time; {_AT_FORMS}"
    part = match.groupdict()
    zone: tzinfo
    if part["z"]:
        zone, label = UTC, "UTC"
    elif part["sign"]:
        hours, minutes = int(part["oh"]), int(part["om"] or 0)
        if hours > 23 or minutes > 59:
            return None, f"{part['sign']}{part['oh']}:{part['om'] or '00'} is not an offset from UTC; {_AT_FORMS}"
        offset = timedelta(hours=hours, minutes=minutes)
        zone, label = timezone(-offset if part["sign"] == "-" else offset), "its offset"
    else:
        label = part["zone"] or default_zone
        found = _zone(label)
        if isinstance(found, str):
            if part["zone"] is None:
                return None, f"it has no time zone and the default one cannot be used: {found}"
            return None, found
        zone, label = found, getattr(found, "key", label)  # the zone's own spelling
    try:
        local = datetime(
            int(part["y"]), int(part["mo"]), int(part["d"]), int(part["h"]), int(part["mi"]), int(part["s"] or 0)
        )
        moment = local.replace(tzinfo=zone).astimezone(UTC)
        wall = moment.astimezone(zone).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None, f"{_local_text(part)} is not a real date and time; {_AT_FORMS}"
    if wall != local:  # zoneinfo reads a skipped time with the offset before the change
        return moment, f"{local:%Y-%m-%d %H:%M} does not exist in {label} (the clocks skip it); read as {wall:%H:%M}"
    return moment, ""


def _local_text(part: Mapping[str, str | None]) -> str:
    return f"{part['y']}-{part['mo']}-{part['d']} {part['h']}:{part['mi']}" + (f":{part['s']}" if part["s"] else "")


def _zone(name: str) -> tzinfo | str:
    """The time zone called `name` (any case), or why there is none."""
    try:
        return zones.resolve(name)[1]
    except zones.NoZoneDatabase:
        return (
            f'this system has no time-zone database, so "{_quoted(name)}" cannot be read; '
            "give an offset such as +01:00 instead"
        )
    except zones.UnknownZone:
        return (
            f'"{_quoted(name)}" is not a time-zone name; use an IANA name such as Europe/Berlin, or an offset (+01:00)'
        )


def _quoted(text: str) -> str:
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "\u2026"


def _listed(names: Sequence[str], most: int = 10) -> str:
    shown = ", ".join(_quoted(name) for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _fields() -> str:
    return ", ".join(SIDECAR_FIELDS)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    for kind, name in (
        (str, "a string"),
        (int, "a number"),
        (float, "a number"),
        (list, "a list"),
        (dict, "an object"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__
