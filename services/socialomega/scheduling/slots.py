"""A target's posting slots: when in the week it posts, in which time zone, how often a day.

Written in the target's settings as, for example:

    {"slots": ["Mon-Fri 09:00, 18:00", "Sat,Sun 11:30"], "timezone": "Europe/Berlin", "max_per_day": 3}

A slot is optional days, then one or more times:
- days: `Mon` `Tue` `Wed` `Thu` `Fri` `Sat` `Sun` (or the full English names), any case; a
  range `Mon-Fri` (a range may wrap the week: `Fri-Mon` is Fri, Sat, Sun, Mon) or a list
  `Sat,Sun` (commas or spaces); no days means every day;
- times: `HH:MM` on the 24-hour clock (`9:05` also works), 00:00 to 23:59, several separated
  by commas or spaces. `Mon-Fri 09:00, 18:00` is both times on weekdays.
The same instant named twice (by two slots) is one slot.

`timezone` is an IANA name (https://en.wikipedia.org/wiki/List_of_tz_database_time_zones),
any case; `UTC` needs no time-zone database, every other name does (the system's, or the
`tzdata` package). `max_per_day` counts posts per calendar day of that time zone. No slots
means "as soon as possible" (with `max_per_day`: as soon as possible, at most N a day).

Clock changes (the same reading as `so:at`, planning/keywords.py):
- a slot time the clocks skip (02:30 on the night summer time starts in Europe/Berlin) is moved
  forward by the change: 03:30 summer time (01:30 UTC). When another slot already names that
  instant (a 03:30 slot), the two are one slot;
- a slot time that happens twice (02:30 on the night summer time ends) is the first one
  (02:30 summer time, 00:30 UTC); the repeat is not a slot.
"""

from __future__ import annotations

import functools
import heapq
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from socialomega.core import zones

MAX_SLOTS = 100
MAX_SLOT_CHARS = 200
SLOT_FORMS = (
    'a slot is optional days, then one or more times: "Mon-Fri 09:00", "18:00" (every day), '
    '"Sat,Sun 11:30", "Mon-Fri 09:00, 18:00"; days are Mon Tue Wed Thu Fri Sat Sun (or the full '
    "names, any case), a range such as Mon-Fri or a list such as Sat,Sun; times are HH:MM on the "
    "24-hour clock, 00:00 to 23:59"
)
ZONE_FORMS = (
    "use an IANA time-zone name such as Europe/Berlin or America/New_York "
    "(https://en.wikipedia.org/wiki/List_of_tz_database_time_zones), or UTC"
)
_DAY_NUMBERS = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_TIME = re.compile(r"(\d{1,2}):(\d{2})", re.ASCII)
_DAYS = re.compile(r"([a-z]+)(?:-([a-z]+))?", re.ASCII | re.IGNORECASE)
_QUOTE_CHARS = 60
# Every UTC offset (tzdb's local mean times included) is well under a day: a local day's
# instants all lie within a day either side of its wall-clock span read as UTC.
_OFFSET_BOUND = timedelta(days=1)

Week = tuple[tuple[time, ...], ...]  # per weekday (Monday first): the slot times, sorted


class ScheduleSettings(BaseModel):
    """A target's schedule. Validated on creation; the messages name the bad value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slots: list[str] = Field(default_factory=list)
    timezone: str = "UTC"
    max_per_day: int | None = Field(default=None, ge=1, strict=True)

    @field_validator("slots")
    @classmethod
    def _check_slots(cls, slots: list[str]) -> list[str]:
        if len(slots) > MAX_SLOTS:
            raise ValueError(f"{len(slots)} slots: at most {MAX_SLOTS} (one slot may name several times)")
        for text in slots:
            parse_slot(text)
        return slots

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        return _resolve_zone(name)[0]  # the proper spelling: "europe/berlin" -> "Europe/Berlin"

    @property
    def zone(self) -> tzinfo:
        return _resolve_zone(self.timezone)[1]

    @property
    def week(self) -> Week:
        """The slot times of each weekday (Monday first), local, sorted, each once."""
        return _week(tuple(self.slots))  # from the fields each time: model_copy(update=...) skips validators


def parse_slot(text: str) -> tuple[frozenset[int], tuple[time, ...]]:
    """The weekdays (0 = Monday) and local times one slot names; ValueError says what is wrong."""
    shown = _quoted(text)
    words = text.strip()
    if not words:
        raise ValueError(f'slot "{shown}" is empty; {SLOT_FORMS}')
    if len(words) > MAX_SLOT_CHARS:
        raise ValueError(f'slot "{shown}" is longer than {MAX_SLOT_CHARS} characters; {SLOT_FORMS}')
    days: set[int] = set()
    times: list[time] = []
    for token in re.split(r"[\s,]+", re.sub(r"(?<=[a-z])\s*-\s*(?=[a-z])", "-", words, flags=re.IGNORECASE)):
        if not token:
            continue  # a leading or trailing separator
        if found := _TIME.fullmatch(token):
            hour, minute = int(found[1]), int(found[2])
            if hour > 23 or minute > 59:
                raise ValueError(f'slot "{shown}": "{_quoted(token)}" is not a time of day; {SLOT_FORMS}')
            times.append(time(hour, minute))
        elif found := _DAYS.fullmatch(token):
            if times:
                raise ValueError(f'slot "{shown}": the days ("{_quoted(token)}") come before the times; {SLOT_FORMS}')
            first, last = (_day_number(name, shown) for name in (found[1], found[2] or found[1]))
            days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
        else:
            raise ValueError(f'slot "{shown}": "{_quoted(token)}" is neither a day nor a time; {SLOT_FORMS}')
    if not times:
        raise ValueError(f'slot "{shown}" names no time; {SLOT_FORMS}')
    return frozenset(days or range(7)), tuple(sorted(set(times)))


def slot_times(settings: ScheduleSettings, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every slot instant in [start, end), in UTC, in order, each once (clock changes: see the
    module's docstring). Lazy: a year of slots costs only what is read of it."""
    start, end = aware_utc(start, "start"), aware_utc(end, "end")
    week, zone = settings.week, settings.zone
    if not any(week) or start >= end:
        return
    found: list[datetime] = []  # a heap: a clock change may put one day's instants out of wall order
    last: datetime | None = None
    day = start.date() - _OFFSET_BOUND  # earlier days end before `start`
    while True:
        # Instants of `day` and of every later day come no earlier than this.
        floor = datetime.combine(day, time(0), tzinfo=UTC) - _OFFSET_BOUND
        while found and found[0] < floor:
            instant = heapq.heappop(found)
            if instant != last:
                last = instant
                yield instant
        if floor >= end:
            return
        for wall in week[day.weekday()]:
            # fold=0: a skipped time is read with the offset before the change, a repeated one is the first
            instant = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
            if start <= instant < end:
                heapq.heappush(found, instant)
        day += timedelta(days=1)


def is_slot(settings: ScheduleSettings, instant: datetime) -> bool:
    """Whether `instant` is one of the schedule's slot instants."""
    instant = aware_utc(instant, "instant")
    return any(True for _ in slot_times(settings, instant, instant + timedelta(microseconds=1)))


def local_day(settings: ScheduleSettings | None, instant: datetime) -> date:
    """The calendar day `instant` falls on in the schedule's time zone (UTC without settings)."""
    return instant.astimezone(settings.zone if settings else UTC).date()


def next_local_midnight(settings: ScheduleSettings | None, instant: datetime) -> datetime:
    """The first instant (UTC) of the local day after `instant`'s (a skipped midnight: the change)."""
    zone = settings.zone if settings else UTC
    following = instant.astimezone(zone).date() + timedelta(days=1)
    return max(datetime.combine(following, time(0), tzinfo=zone).astimezone(UTC), instant + timedelta(microseconds=1))


def aware_utc(moment: datetime, name: str) -> datetime:
    """`moment` in UTC; ValueError for a naive datetime (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {moment.isoformat()}")
    return moment.astimezone(UTC)


def _day_number(name: str, shown: str) -> int:
    number = _DAY_NUMBERS.get(name.lower())
    if number is None:
        raise ValueError(f'slot "{shown}": "{_quoted(name)}" is not a day; {SLOT_FORMS}')
    return number


@functools.lru_cache(maxsize=256)
def _week(slots: tuple[str, ...]) -> Week:
    times: list[set[time]] = [set() for _ in range(7)]
    for text in slots:
        days, walls = parse_slot(text)
        for day in days:
            times[day].update(walls)
    return tuple(tuple(sorted(walls)) for walls in times)


def _resolve_zone(name: str) -> tuple[str, tzinfo]:
    """(the proper name, the zone) of an IANA name in any case; ValueError says why not."""
    try:
        return zones.resolve(name)
    except zones.NoZoneDatabase:
        raise ValueError(
            f'timezone "{_quoted(name)}" cannot be read: this system has no time-zone database '
            "(install the tzdata package); only UTC works without one"
        ) from None
    except zones.UnknownZone:
        raise ValueError(f'timezone "{_quoted(name)}" is not a time-zone name; {ZONE_FORMS}') from None


def _quoted(text: str) -> str:
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "\u2026"
