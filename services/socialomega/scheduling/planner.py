"""When a target's next post goes out: its schedule (slots.py), its posts, the platform's quotas.

The rules, the same for `next_slot` (one new post) and `replan` (a queue that fell behind):
- Slots. With slots, a post goes out at a slot instant; each slot instant carries at most one
  post (an instant held by a planned or published post is taken). Without slots (no settings,
  or settings without slots) a post goes out as soon as the rules allow. Times that are not slot
  instants (a photo's own `so:at` time, an as-soon-as-possible time) may coincide.
- max_per_day. At most that many posts (planned and published) per calendar day of the
  schedule's time zone.
- Quotas. A platform's own cap is a `Quota`: at most `limit` posts in any `window`-long span
  [s, s + window), planned posts and published ones alike (e.g. X's free tier: 17 per 24 h,
  platforms/x/errors.py; Instagram: "An Instagram professional account can only publish 50 posts
  within a 24 hour moving period", IG User Media Publish reference,
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish).
  Planning within the cap means a post never waits by re-sending itself into a 429. A post stops
  counting at exactly its time + window.
- A photo's own time (`at`, from `so:at`). It goes out at exactly max(at, now) when the quotas
  allow that instant (and, when it is a slot instant, the slot is free); it does not have to be
  a slot, and a day already at max_per_day does not move it: the daily maximum paces the posts
  the schedule places, the photographer's own time is their choice (it still counts for its day,
  so the schedule places fewer around it). A platform's quota is not the photographer's to
  waive: when it, or a taken slot instant, blocks the time, the post takes the next slot after it
  (without slots: the earliest instant the rules allow after it), as any other post would.
- Horizon. The search looks `horizon` (366 days) past the earliest instant allowed (now, or the
  photo's own time); nothing there raises `NoSlot`.

Cost: sorting the posts (O(n log n)), then per instant tried O(k log n) per quota, k = the posts
within one window of it. A blocked instant skips straight to when the blocking rule can next
give way (the next local day for max_per_day, the oldest post in the window leaving it for a
quota), and `replan` reads one stream of slots for its whole queue: 1,000 posts plan in tens of
milliseconds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from socialomega.scheduling.slots import (
    ScheduleSettings,
    aware_utc,
    is_slot,
    local_day,
    next_local_midnight,
    slot_times,
)

DEFAULT_HORIZON = timedelta(days=366)
# A blocked slot this far before its rule gives way: start the slots again there rather than
# reading every slot in between (restarting reads about three days of slots).
_RESTART_AFTER = timedelta(days=2)


class NoSlot(Exception):
    """No instant within the horizon satisfies the schedule, max_per_day and the quotas."""


@dataclass(frozen=True)
class Taken:
    """A post of this target, planned or published, and its time (aware); `own`: the time is the
    photo's own (`so:at`), which replan keeps in place while the quotas allow it."""

    at: datetime
    key: str
    own: bool = False


@dataclass(frozen=True)
class Quota:
    """A platform's rolling cap: at most `limit` posts in any `window`-long span."""

    limit: int
    window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(f"a quota's limit is a whole number of posts, at least 1; got {self.limit!r}")
        if not isinstance(self.window, timedelta) or self.window <= timedelta(0):
            raise ValueError(f"a quota's window is a positive timedelta; got {self.window!r}")


def next_slot(
    settings: ScheduleSettings | None,
    taken: Sequence[Taken],
    now: datetime,
    *,
    quotas: Sequence[Quota] = (),
    at: datetime | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> datetime:
    """The time (UTC) of the target's next post, given its other posts (`taken`: planned and
    published, every one of them counts). The rules are the module's docstring."""
    now = aware_utc(now, "now")
    book = _Book(settings, quotas, (aware_utc(post.at, f"the time of {post.key}") for post in taken), horizon)
    if at is None:
        return book.earliest(now, "the next post")
    own = max(now, aware_utc(at, "at"))
    return own if book.allows_exactly(own, own_time=True) else book.earliest(own, "the next post")


def replan(
    settings: ScheduleSettings | None,
    pending: Sequence[Taken],
    now: datetime,
    *,
    quotas: Sequence[Quota] = (),
    published: Sequence[Taken] = (),
    horizon: timedelta = DEFAULT_HORIZON,
) -> list[tuple[str, datetime]]:
    """Every pending post's (key, time), in the order given, after slots passed without them
    (an outage, an open breaker).

    First, a photo's own time (`own`) that has not passed stays where it is when the quotas
    still allow it given the published posts (and, on a slot instant, no published post holds
    it): the photographer chose that time, and a delayed post does not push it away.
    The other posts are the posting order: their times never decrease along it and none is
    before `now`. `published` posts and the own times kept count for the slots they hold,
    max_per_day and the quotas. Walking them in order, each post:
    - keeps its time when that is not before `now` nor before the post ahead of it, and the
      rules (module docstring) still allow it given the posts ahead and the ones counted;
    - otherwise (its time passed, or a post ahead now holds its slot or fills its day or quota)
      takes the next free instant from max(its own time, the time of the post ahead, now): a
      slot, or without slots the earliest instant the rules allow. So the first post whose slot
      passed goes to the next free slot from now, the next one after it, and a waiting post
      whose slot one of them took moves on, in order; a time moves later, never earlier.
    A pending post out of order (its time before the one ahead of it) moves after that one.
    Posts later in the queue do not hold instants against the ones ahead of them. NoSlot names
    the first post that cannot be placed within the horizon (past the instant it started from).
    """
    now = aware_utc(now, "now")
    book = _Book(settings, quotas, (aware_utc(post.at, f"the time of {post.key}") for post in published), horizon)
    chosen: dict[int, datetime] = {}
    for index, post in enumerate(pending):
        wanted = aware_utc(post.at, f"the time of {post.key}")
        if post.own and wanted >= now and book.allows_exactly(wanted, own_time=True):
            book.add(wanted)
            chosen[index] = wanted
    ahead = now
    for index, post in enumerate(pending):
        if index in chosen:
            continue
        wanted = aware_utc(post.at, f"the time of {post.key}")
        if wanted >= ahead and book.allows_exactly(wanted):
            at = wanted
        else:
            at = book.earliest(max(ahead, wanted), f"pending post {post.key}")
        book.add(at)
        chosen[index] = ahead = at
    return [(post.key, chosen[index]) for index, post in enumerate(pending)]


class _Book:
    """A target's posts (sorted times, per local day) and the rules they are checked against."""

    def __init__(
        self, settings: ScheduleSettings | None, quotas: Sequence[Quota], times: Iterable[datetime], horizon: timedelta
    ) -> None:
        if horizon <= timedelta(0):
            raise ValueError(f"the horizon must be positive; got {horizon}")
        self.settings = settings
        self.slotted = settings is not None and any(settings.week)
        self.max_per_day = settings.max_per_day if settings is not None else None
        self.quotas = tuple(quotas)
        self.horizon = horizon
        self.times: list[datetime] = sorted(times)
        self.instants = set(self.times)
        self.per_day = Counter(local_day(settings, moment) for moment in self.times) if self.max_per_day else Counter()
        self._stream: _SlotStream | None = None

    def add(self, moment: datetime) -> None:
        insort(self.times, moment)
        self.instants.add(moment)
        if self.max_per_day:
            self.per_day[local_day(self.settings, moment)] += 1

    def allows_exactly(self, moment: datetime, *, own_time: bool = False) -> bool:
        """Whether a post may go out at exactly `moment` (any instant, slot or not); a photo's
        own time is not held to max_per_day (module docstring)."""
        if moment in self.instants and self.slotted and self.settings and is_slot(self.settings, moment):
            return False  # one post per slot instant
        return self.blocked_until(moment, daily=not own_time) is None

    def earliest(self, lower: datetime, what: str) -> datetime:
        """The first instant >= lower the rules allow: a free slot, or any instant without slots."""
        end = lower + self.horizon
        if self.slotted:
            found = self._first_free_slot(lower, end)
        else:
            found = lower
            while found is not None and found < end:
                wait = self.blocked_until(found)
                if wait is None:
                    break
                found = wait
            else:
                found = None
        if found is None:
            raise NoSlot(
                f"no free instant for {what} from {lower.isoformat()} to {end.isoformat()} "
                f"({self.horizon.days} days): {self.describe()}"
            )
        return found

    def _first_free_slot(self, lower: datetime, end: datetime) -> datetime | None:
        stream = self._slots_from(lower)
        skip_until = lower
        while stream.head is not None and stream.head < end:
            moment = stream.head
            if moment < skip_until or moment in self.instants:
                stream.pop()
                continue
            wait = self.blocked_until(moment)
            if wait is None:
                return moment  # left in the stream: once added, it is skipped as taken
            if wait - moment > _RESTART_AFTER:
                stream = self._slots_from(wait, fresh=True)
            else:
                stream.pop()
            skip_until = wait
        return None

    def _slots_from(self, lower: datetime, *, fresh: bool = False) -> _SlotStream:
        """The slot instants from `lower` on; `replan` asks from ever later instants, so one
        stream serves its whole queue (a new one reads a few days of slots before its first)."""
        stream = self._stream
        if fresh or stream is None or stream.start > lower or stream.end < lower + self.horizon:
            assert self.settings is not None
            stream = self._stream = _SlotStream(self.settings, lower, lower + 2 * self.horizon)
        return stream

    def blocked_until(self, moment: datetime, *, daily: bool = True) -> datetime | None:
        """None when max_per_day (unless not `daily`) and every quota allow a post at `moment`;
        otherwise an instant before which they cannot (each blocking rule gives way no earlier)."""
        waits: list[datetime] = []
        if daily and self.max_per_day and self.per_day[local_day(self.settings, moment)] >= self.max_per_day:
            waits.append(next_local_midnight(self.settings, moment))  # a full day stays full
        for quota in self.quotas:
            wait = self._quota_wait(quota, moment)
            if wait is not None:
                waits.append(wait)
        return max(waits) if waits else None

    def _quota_wait(self, quota: Quota, moment: datetime) -> datetime | None:
        """None when one more post at `moment` keeps every `quota.window` span within the limit.

        The spans holding `moment` start in (moment - window, moment]; the fullest of them starts
        at one of the posts there or at `moment` itself (sliding a span's start up to the next post
        loses none). As `moment` grows, a span can only empty when a post in it reaches its time +
        window: the first such instant after `moment` is the answer when it is blocked."""
        times, window = self.times, quota.window
        first = bisect_right(times, moment - window)  # the first post that still counts at `moment`
        starts = {moment, *times[first : bisect_right(times, moment)]}
        if all(bisect_left(times, start + window) - bisect_left(times, start) < quota.limit for start in starts):
            return None
        return times[first] + window  # a full span holds a post after moment - window, so this exists

    def describe(self) -> str:
        settings = self.settings
        parts = [
            f"slots {', '.join(settings.slots)} ({settings.timezone})"
            if settings is not None and self.slotted
            else "no slots (as soon as possible)"
        ]
        if self.max_per_day:
            parts.append(f"at most {self.max_per_day} a day")
        parts.extend(f"quota {quota.limit} per {quota.window}" for quota in self.quotas)
        parts.append(f"{len(self.times)} posts counted")
        return "; ".join(parts)


class _SlotStream:
    """Slot instants in [start, end), read lazily; `start` moves past each instant popped."""

    def __init__(self, settings: ScheduleSettings, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self._instants = slot_times(settings, start, end)
        self.head: datetime | None = next(self._instants, None)

    def pop(self) -> None:
        if self.head is not None:
            self.start = self.head + timedelta(microseconds=1)
            self.head = next(self._instants, None)
