"""Time zones by IANA name, in any case, with or without the system's time-zone database.

`UTC` (and its other names) always works. Every other name needs a database: the system's
(/usr/share/zoneinfo) or the `tzdata` package; without one, `resolve` says so (NoZoneDatabase),
and callers tell the user what works instead (an offset, UTC).
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, tzinfo

UTC_NAMES = frozenset({"utc", "z", "gmt", "etc/utc", "etc/gmt"})


class UnknownZone(ValueError):
    """No time zone has that name."""


class NoZoneDatabase(UnknownZone):
    """The name is not UTC and this system has no time-zone database to look it up."""


@functools.lru_cache(maxsize=128)
def resolve(name: str) -> tuple[str, tzinfo]:
    """(the proper spelling, the zone) of `name` in any case ("europe/berlin" -> "Europe/Berlin")."""
    if name.strip().lower() in UTC_NAMES:
        return "UTC", UTC
    try:
        return name, zoneinfo.ZoneInfo(name)
    except Exception:  # not found, a directory such as "Europe", a malformed name
        pass
    known = _names()
    if not known:
        raise NoZoneDatabase(name)
    proper = known.get(name.strip().lower())
    if proper is not None:
        try:
            return proper, zoneinfo.ZoneInfo(proper)
        except Exception:
            pass
    raise UnknownZone(name)


@functools.cache
def _names() -> dict[str, str]:
    """Every zone name this system knows, by its lower-case form (read once, when needed)."""
    try:
        return {name.lower(): name for name in zoneinfo.available_timezones()}
    except Exception:
        return {}
