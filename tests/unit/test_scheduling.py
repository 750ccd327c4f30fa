"""Posting slots, the planner (next_slot, replan) and the schedule clock (scheduling/)."""

from __future__ import annotations

import zoneinfo
from bisect import bisect_left
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from socialomega.core import zones
from socialomega.core.config import ConfigError
from socialomega.scheduling.clock import EPOCH_VARIABLE, SCALE_VARIABLE, ScheduleClock
from socialomega.scheduling.planner import NoSlot, Quota, Taken, next_slot, replan
from socialomega.scheduling.slots import ScheduleSettings, is_slot, parse_slot, slot_times

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
X_DAILY_CAP = Quota(17)  # X free tier: 17 posts per user per 24 h (platforms/x/errors.py)
INSTAGRAM_LIMIT = Quota(50)  # 50 API-published posts per 24-hour moving period (media_publish reference)
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)  # a Monday; Berlin is UTC+1 in December
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEKDAYS = ScheduleSettings(slots=["Mon-Fri 09:00, 18:00"], timezone="Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def taken(*moments: datetime) -> list[Taken]:
    return [Taken(at=moment, key=f"p{index}") for index, moment in enumerate(moments)]


# --- slots: parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "times"),
    [
        ("18:00", set(range(7)), [time(18)]),
        ("Mon-Fri 09:00", {0, 1, 2, 3, 4}, [time(9)]),
        ("Sat,Sun 11:30", {5, 6}, [time(11, 30)]),
        ("Sat, Sun 11:30", {5, 6}, [time(11, 30)]),
        ("mon - fri 9:05", {0, 1, 2, 3, 4}, [time(9, 5)]),
        ("MONDAY 07:00", {0}, [time(7)]),
        ("Fri-Mon 10:00", {4, 5, 6, 0}, [time(10)]),
        ("Wed-Wed 10:00", {2}, [time(10)]),
        ("Mon-Fri 18:00, 09:00", {0, 1, 2, 3, 4}, [time(9), time(18)]),
        ("Mon Wed,Fri 08:00 08:00", {0, 2, 4}, [time(8)]),
        ("  00:00, 23:59 ", set(range(7)), [time(0), time(23, 59)]),
        ("Tuesday-thu 12:00", {1, 2, 3}, [time(12)]),
    ],
)
def test_slot_forms(text, days, times):
    assert parse_slot(text) == (frozenset(days), tuple(times))
    assert ScheduleSettings(slots=[text]).slots == [text]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", 'slot "" is empty'),
        ("   ", "is empty"),
        ("Mon-Fri", 'slot "Mon-Fri" names no time'),
        ("Mno 09:00", '"Mno" is not a day'),
        ("Mon-Fir 09:00", '"Fir" is not a day'),
        ("24:00", '"24:00" is not a time of day'),
        ("12:60", '"12:60" is not a time of day'),
        ("09:00 Mon", 'the days ("Mon") come before the times'),
        ("9h", '"9h" is neither a day nor a time'),
        ("09:00:00", '"09:00:00" is neither a day nor a time'),
        ("9.00", '"9.00" is neither a day nor a time'),
        ("Mon- 09:00", '"Mon-" is neither a day nor a time'),
        ("Mon-Tue-Wed 09:00", '"Mon-Tue-Wed" is neither a day nor a time'),
        ("Mon 123:00", '"123:00" is neither a day nor a time'),
        ("Mon " + "0" * 200, "is longer than 200 characters"),
    ],
)
def test_invalid_slots_are_named_with_what_is_valid(text, says):
    with pytest.raises(ValidationError) as caught:
        ScheduleSettings(slots=["12:00", text])
    message = str(caught.value)
    assert says in message
    assert "times are HH:MM on the 24-hour clock" in message and "Mon-Fri" in message


def test_a_long_bad_slot_is_quoted_shortened():
    with pytest.raises(ValueError) as caught:
        parse_slot("x" * 150 + " 09:00")
    assert "x" * 59 + "\u2026" in str(caught.value)
    assert "x" * 61 not in str(caught.value)


def test_slots_of_a_day_are_combined_and_named_once():
    schedule = ScheduleSettings(slots=["Mon 09:00", "Mon-Tue 09:00, 12:00", "Sun 08:00"])
    assert schedule.week[0] == (time(9), time(12))
    assert schedule.week[1] == (time(9), time(12))
    assert schedule.week[2] == ()
    assert schedule.week[6] == (time(8),)


def test_too_many_slots():
    with pytest.raises(ValidationError, match="101 slots: at most 100"):
        ScheduleSettings(slots=["09:00"] * 101)


@pytest.mark.parametrize(
    ("name", "proper"),
    [
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
    ],
)
def test_time_zones(name, proper):
    assert ScheduleSettings(timezone=name).timezone == proper


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Europe", "", "../../etc/passwd", "CET+1"])
def test_unknown_time_zone(name):
    with pytest.raises(
        ValidationError, match="is not a time-zone name; use an IANA time-zone name such as Europe/Berlin"
    ):
        ScheduleSettings(timezone=name)


def test_without_a_time_zone_database_only_utc_works(monkeypatch):
    def missing(name):
        raise zoneinfo.ZoneInfoNotFoundError(name)

    zones.resolve.cache_clear()
    monkeypatch.setattr(zones.zoneinfo, "ZoneInfo", missing)
    monkeypatch.setattr(zones, "_names", dict)
    try:
        assert ScheduleSettings(timezone="UTC").zone is UTC
        with pytest.raises(ValidationError, match="no time-zone database \\(install the tzdata package\\)"):
            ScheduleSettings(timezone="Europe/Paris")
    finally:
        zones.resolve.cache_clear()


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"max_per_day": 0}, "greater than or equal to 1"),
        ({"max_per_day": True}, "valid integer"),
        ({"max_per_day": "3"}, "valid integer"),
        ({"slots": "09:00"}, "valid list"),
        ({"slot": ["09:00"]}, "Extra inputs are not permitted"),
    ],
)
def test_settings_fields(fields, says):
    with pytest.raises(ValidationError, match=says):
        ScheduleSettings(**fields)


def test_settings_defaults_and_json():
    assert ScheduleSettings() == ScheduleSettings(slots=[], timezone="UTC", max_per_day=None)
    loaded = ScheduleSettings.model_validate_json(
        '{"slots": ["Sat,Sun 11:30"], "timezone": "Europe/Berlin", "max_per_day": 2}'
    )
    assert loaded.max_per_day == 2 and loaded.zone == BERLIN


# --- slots: instants --------------------------------------------------------------------------


def test_slot_times_of_a_week():
    moments = list(slot_times(WEEKDAYS, MONDAY, MONDAY + 7 * DAY))
    assert moments[:3] == [utc(2026, 12, 7, 8), utc(2026, 12, 7, 17), utc(2026, 12, 8, 8)]
    assert len(moments) == 10
    assert all(moment.tzinfo is UTC for moment in moments)
    assert {moment.astimezone(BERLIN).weekday() for moment in moments} == {0, 1, 2, 3, 4}


def test_slot_times_are_half_open():
    assert list(slot_times(WEEKDAYS, utc(2026, 12, 7, 8), utc(2026, 12, 7, 17))) == [utc(2026, 12, 7, 8)]
    assert list(slot_times(WEEKDAYS, utc(2026, 12, 7, 8, 0, 0, 1), utc(2026, 12, 7, 17, 0, 0, 1))) == [
        utc(2026, 12, 7, 17)
    ]
    assert list(slot_times(WEEKDAYS, utc(2026, 12, 7, 9), utc(2026, 12, 7, 9))) == []
    assert list(slot_times(ScheduleSettings(max_per_day=2), MONDAY, MONDAY + 30 * DAY)) == []


def test_slot_times_take_any_zone_and_refuse_naive_datetimes():
    start = datetime(2026, 12, 7, 9, tzinfo=timezone(timedelta(hours=1)))  # 08:00 UTC
    assert next(slot_times(WEEKDAYS, start, start + DAY)) == utc(2026, 12, 7, 8)
    with pytest.raises(ValueError, match="start must be an aware datetime"):
        next(slot_times(WEEKDAYS, datetime(2026, 12, 7), MONDAY))


def test_spring_forward_moves_a_skipped_slot_by_the_change():
    # Europe/Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST.
    schedule = ScheduleSettings(slots=["02:30", "03:30", "09:00"], timezone="Europe/Berlin")
    moments = list(slot_times(schedule, utc(2026, 3, 28), utc(2026, 3, 30)))
    assert moments == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 28, 2, 30),  # 03:30 CET
        utc(2026, 3, 28, 8),  # 09:00 CET
        utc(2026, 3, 29, 1, 30),  # 02:30 does not exist: 03:30 CEST, the same instant as the 03:30 slot
        utc(2026, 3, 29, 7),  # 09:00 CEST
    ]
    only_skipped = ScheduleSettings(slots=["02:30"], timezone="Europe/Berlin")
    assert list(slot_times(only_skipped, utc(2026, 3, 29), utc(2026, 3, 30))) == [utc(2026, 3, 29, 1, 30)]


def test_fall_back_takes_the_first_of_a_repeated_slot():
    # Europe/Berlin, Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET, 02:30 happens twice.
    schedule = ScheduleSettings(slots=["02:30", "09:00"], timezone="Europe/Berlin")
    assert list(slot_times(schedule, utc(2026, 10, 24, 12), utc(2026, 10, 26))) == [
        utc(2026, 10, 25, 0, 30),  # the first 02:30 (CEST); 01:30 UTC (the second) is no slot
        utc(2026, 10, 25, 8),  # 09:00 CET
    ]
    assert not is_slot(schedule, utc(2026, 10, 25, 1, 30))


def test_a_skipped_day_gives_its_slots_once():
    # Samoa skipped 30 December 2011 (UTC-10 to UTC+14): its 10:00 is the 31st's 10:00.
    schedule = ScheduleSettings(slots=["10:00"], timezone="Pacific/Apia")
    moments = list(slot_times(schedule, utc(2011, 12, 29), utc(2012, 1, 1)))
    assert [moment.astimezone(schedule.zone).date() for moment in moments] == [
        date(2011, 12, 29),
        date(2011, 12, 31),
        date(2012, 1, 1),
    ]


def test_is_slot():
    assert is_slot(WEEKDAYS, utc(2026, 12, 7, 8))
    assert not is_slot(WEEKDAYS, utc(2026, 12, 7, 8, 0, 1))
    assert not is_slot(WEEKDAYS, utc(2026, 12, 12, 8))  # Saturday


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
SLOT_CHOICES = ["09:00", "Mon-Fri 02:30", "Sat,Sun 11:30", "00:00, 23:59", "Fri-Mon 01:15 03:45", "12:00, 18:00"]


@settings(max_examples=60, deadline=None)
@given(
    slot_list=st.lists(st.sampled_from(SLOT_CHOICES), min_size=1, max_size=3),
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    lengths=st.tuples(st.integers(0, 20 * 24 * 60), st.integers(0, 20 * 24 * 60)),
)
def test_slot_times_are_every_slot_of_every_day_in_order_however_split(slot_list, zone, start, lengths):
    schedule = ScheduleSettings(slots=slot_list, timezone=zone)
    middle = start + timedelta(minutes=lengths[0])
    end = middle + timedelta(minutes=lengths[1])
    whole = list(slot_times(schedule, start, end))
    assert whole == _every_slot(schedule, start, end)
    assert whole == list(slot_times(schedule, start, middle)) + list(slot_times(schedule, middle, end))


def _every_slot(schedule: ScheduleSettings, start: datetime, end: datetime) -> list[datetime]:
    """The slow way: every slot of every local day around [start, end), each instant once, sorted."""
    zone, found = schedule.zone, set()
    day = start.astimezone(zone).date() - timedelta(days=2)
    while day <= end.astimezone(zone).date() + timedelta(days=2):
        for wall in schedule.week[day.weekday()]:
            moment = datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)
            if start <= moment < end:
                found.add(moment)
        day += timedelta(days=1)
    return sorted(found)


# --- next_slot --------------------------------------------------------------------------------


def test_without_slots_a_post_goes_now():
    now = utc(2026, 12, 7, 10, 17, 3)
    assert next_slot(None, [], now) == now
    assert next_slot(None, taken(now, now), now) == now  # as-soon-as-possible times may coincide
    assert next_slot(ScheduleSettings(), [], now) == now


def test_with_slots_the_next_free_one():
    now = utc(2026, 12, 7, 7)  # 08:00 in Berlin
    assert next_slot(WEEKDAYS, [], now) == utc(2026, 12, 7, 8)
    assert next_slot(WEEKDAYS, taken(utc(2026, 12, 7, 8)), now) == utc(2026, 12, 7, 17)
    assert next_slot(WEEKDAYS, taken(utc(2026, 12, 7, 8), utc(2026, 12, 7, 17)), now) == utc(2026, 12, 8, 8)
    assert next_slot(WEEKDAYS, [], utc(2026, 12, 7, 8)) == utc(2026, 12, 7, 8)  # now is a slot
    assert next_slot(WEEKDAYS, [], utc(2026, 12, 7, 8, 0, 0, 1)) == utc(2026, 12, 7, 17)
    assert next_slot(WEEKDAYS, [], utc(2026, 12, 11, 18)) == utc(2026, 12, 14, 8)  # Friday evening: Monday


def test_an_off_slot_post_does_not_take_a_slot():
    now = utc(2026, 12, 7, 7)
    assert next_slot(WEEKDAYS, taken(utc(2026, 12, 7, 8, 0, 1)), now) == utc(2026, 12, 7, 8)


def test_max_per_day_counts_the_local_day():
    schedule = WEEKDAYS.model_copy(update={"max_per_day": 1})
    now = utc(2026, 12, 7, 7)
    # 23:30 UTC on Sunday is 00:30 on Monday in Berlin: Monday is full.
    assert next_slot(schedule, taken(utc(2026, 12, 6, 23, 30)), now) == utc(2026, 12, 8, 8)
    # 22:30 UTC on Sunday is still Sunday in Berlin.
    assert next_slot(schedule, taken(utc(2026, 12, 6, 22, 30)), now) == utc(2026, 12, 7, 8)


def test_max_per_day_without_slots_waits_for_the_local_midnight():
    schedule = ScheduleSettings(timezone="Europe/Berlin", max_per_day=2)
    now = utc(2026, 12, 7, 12)
    assert next_slot(schedule, taken(utc(2026, 12, 7, 9)), now) == now
    assert next_slot(schedule, taken(utc(2026, 12, 7, 9), utc(2026, 12, 7, 10)), now) == utc(2026, 12, 7, 23)


def test_x_daily_cap_is_a_rolling_window():
    now = utc(2026, 12, 7, 12)
    oldest = now - 23 * HOUR
    recent = [now - HOUR + timedelta(minutes=minute) for minute in range(16)]
    assert next_slot(None, taken(*recent), now, quotas=[X_DAILY_CAP]) == now  # 16 of 17
    assert next_slot(None, taken(oldest, *recent), now, quotas=[X_DAILY_CAP]) == oldest + DAY
    # A post leaves the window at exactly its time + 24 h.
    assert next_slot(None, taken(now - DAY, *recent), now, quotas=[X_DAILY_CAP]) == now


def test_a_quota_counts_planned_posts_after_now_too():
    now = utc(2026, 12, 7, 12)
    planned = [now + HOUR + timedelta(minutes=minute) for minute in range(17)]
    # Any post before planned[0] + 24 h would share a 24-hour span with all 17.
    assert next_slot(None, taken(*planned), now, quotas=[X_DAILY_CAP]) == planned[0] + DAY


def test_instagram_limit_with_hourly_slots():
    hourly = ScheduleSettings(slots=[f"{hour:02}:00" for hour in range(24)])
    now = utc(2026, 12, 7, 12)
    burst = [now - timedelta(hours=20, minutes=59) + timedelta(seconds=second) for second in range(50)]
    # The burst leaves the window at 15:01:00 to 15:01:49; the 16:00 slot is the first after.
    assert next_slot(hourly, taken(*burst), now, quotas=[INSTAGRAM_LIMIT]) == utc(2026, 12, 7, 16)
    assert next_slot(hourly, taken(*burst[:49]), now, quotas=[INSTAGRAM_LIMIT]) == now


def test_every_quota_applies():
    now = utc(2026, 12, 7, 12)
    hourly_cap = Quota(2, HOUR)
    posts = taken(now - timedelta(minutes=30), now - timedelta(minutes=10))
    assert next_slot(None, posts, now, quotas=[X_DAILY_CAP, hourly_cap]) == now + timedelta(minutes=30)


def test_own_time_exactly_when_allowed():
    now = utc(2026, 12, 7, 7)
    own = utc(2026, 12, 9, 14, 27)  # not a slot
    assert next_slot(WEEKDAYS, [], now, at=own) == own
    assert next_slot(None, [], now, at=own) == own
    assert next_slot(WEEKDAYS, [], now, at=now - DAY) == now  # a time already passed: now
    # A free slot instant is fine; a taken one sends the photo to the next slot.
    assert next_slot(WEEKDAYS, [], now, at=utc(2026, 12, 7, 8)) == utc(2026, 12, 7, 8)
    assert next_slot(WEEKDAYS, taken(utc(2026, 12, 7, 8)), now, at=utc(2026, 12, 7, 8)) == utc(2026, 12, 7, 17)
    # An off-slot time already used by another photo's own time may be shared.
    assert next_slot(WEEKDAYS, taken(own), now, at=own) == own


def test_own_time_not_allowed_takes_the_next_allowed_after_it():
    now = utc(2026, 12, 7, 7)
    own = utc(2026, 12, 9, 14, 27)  # Wednesday, 15:27 in Berlin
    assert next_slot(WEEKDAYS, taken(own - HOUR), now, at=own, quotas=[Quota(1, 2 * HOUR)]) == utc(2026, 12, 9, 17)
    # Without slots: the earliest instant the quota allows.
    assert next_slot(None, taken(own - HOUR), now, at=own, quotas=[Quota(1, 2 * HOUR)]) == own + HOUR


def test_own_time_is_kept_on_a_full_day_and_still_counts_for_it():
    now = utc(2026, 12, 7, 7)
    own = utc(2026, 12, 9, 14, 27)  # Wednesday, 15:27 in Berlin
    full = WEEKDAYS.model_copy(update={"max_per_day": 1})
    wednesday_morning = utc(2026, 12, 9, 8)
    assert next_slot(full, taken(wednesday_morning), now, at=own) == own  # the photographer's time wins
    # Planned first, the own time fills Wednesday: the schedule's next post goes to Thursday.
    assert next_slot(full, taken(own), utc(2026, 12, 9, 7)) == utc(2026, 12, 10, 8)
    # A slot instant another post holds still moves it (one post per slot).
    assert next_slot(full, taken(wednesday_morning), now, at=wednesday_morning) == utc(2026, 12, 10, 8)


def test_no_slot_within_the_horizon():
    mondays = ScheduleSettings(slots=["Mon 09:00"])
    with pytest.raises(NoSlot, match="no free instant for the next post from 2026-12-08T00:00:00\\+00:00"):
        next_slot(mondays, [], utc(2026, 12, 8), horizon=5 * DAY)
    assert next_slot(mondays, [], utc(2026, 12, 8), horizon=7 * DAY) == utc(2026, 12, 14, 9)
    with pytest.raises(NoSlot, match="quota 1 per 400 days"):
        next_slot(None, taken(utc(2026, 12, 7)), utc(2026, 12, 8), quotas=[Quota(1, timedelta(days=400))])


def test_bad_arguments():
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        next_slot(None, [], datetime(2026, 12, 7))
    with pytest.raises(ValueError, match="the time of p0 must be an aware datetime"):
        next_slot(None, taken(datetime(2026, 12, 7)), MONDAY)
    with pytest.raises(ValueError, match="horizon must be positive"):
        next_slot(None, [], MONDAY, horizon=timedelta(0))
    for limit in (0, True, 2.5):
        with pytest.raises(ValueError, match="limit is a whole number"):
            Quota(limit)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window is a positive timedelta"):
        Quota(3, timedelta(0))


# Property tests: an independent, slower statement of the rules, checked against the planner.

QUOTA_CHOICES = [(), (X_DAILY_CAP,), (Quota(3, 6 * HOUR),), (Quota(2, HOUR), Quota(5, DAY))]


def _schedules(draw_slots: list[str], zone: str, cap: int | None) -> ScheduleSettings | None:
    if not draw_slots and cap is None and zone == "UTC":
        return None
    return ScheduleSettings(slots=draw_slots, timezone=zone, max_per_day=cap)


schedules = st.builds(
    _schedules,
    st.lists(st.sampled_from(SLOT_CHOICES), max_size=2),
    st.sampled_from(ZONES),
    st.one_of(st.none(), st.integers(1, 3)),
)
offsets = st.integers(-3 * 24 * 60, 3 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes))


def _allowed(
    schedule, times: list[datetime], moment: datetime, quotas, *, off_slot: bool = False, daily: bool = True
) -> bool:
    """Whether one more post at `moment` keeps the rules, given the posts at `times` (`off_slot`:
    it may be off the slots; not `daily`: max_per_day does not hold it, as for a photo's own time)."""
    slotted = schedule is not None and any(schedule.week)
    if slotted and not off_slot and not is_slot(schedule, moment):
        return False
    if slotted and moment in times and is_slot(schedule, moment):
        return False
    if schedule is not None and schedule.max_per_day and daily:
        zone = schedule.zone
        same_day = [t for t in times if t.astimezone(zone).date() == moment.astimezone(zone).date()]
        if len(same_day) >= schedule.max_per_day:
            return False
    return all(_spans_hold(sorted([*times, moment]), moment, quota) for quota in quotas)


def _spans_hold(times: list[datetime], moment: datetime, quota: Quota) -> bool:
    """Every window-long span that holds `moment` holds at most `limit` of `times`."""
    return not any(
        start <= moment < start + quota.window
        and bisect_left(times, start + quota.window) - bisect_left(times, start) > quota.limit
        for start in times
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=schedules,
    posts=st.lists(offsets, max_size=25),
    quotas=st.sampled_from(QUOTA_CHOICES),
    now_offset=offsets,
)
def test_next_slot_keeps_every_rule_and_is_the_earliest(schedule, posts, quotas, now_offset):
    base = utc(2026, 10, 24, 12)  # Europe's autumn change is inside the range
    times = [base + offset for offset in posts]
    now = base + now_offset
    chosen = next_slot(schedule, taken(*times), now, quotas=quotas)
    assert chosen >= now
    assert _allowed(schedule, times, chosen, quotas)
    slotted = schedule is not None and any(schedule.week)
    if slotted:
        assert chosen not in times
        earlier = list(slot_times(schedule, now, chosen))
    else:
        # Without slots the rules only give way at a post's time + window or a local midnight.
        earlier = [now] + [time + quota.window for time in times for quota in quotas]
        earlier += [chosen - timedelta(microseconds=1)]
        earlier = [moment for moment in earlier if now <= moment < chosen]
    assert not any(_allowed(schedule, times, moment, quotas) for moment in earlier)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=schedules,
    posts=st.lists(offsets, max_size=20),
    quotas=st.sampled_from(QUOTA_CHOICES),
    now_offset=offsets,
    own_offset=offsets,
)
def test_own_time_is_kept_exactly_when_the_rules_allow_it(schedule, posts, quotas, now_offset, own_offset):
    base = utc(2026, 3, 28, 12)  # Europe's spring change is inside the range
    times = [base + offset for offset in posts]
    now, own = base + now_offset, base + own_offset
    chosen = next_slot(schedule, taken(*times), now, quotas=quotas, at=own)
    wanted = max(now, own)
    assert chosen >= wanted
    if _allowed(schedule, times, wanted, quotas, off_slot=True, daily=False):
        assert chosen == wanted
    else:
        assert chosen > wanted
        assert _allowed(schedule, times, chosen, quotas)


# --- replan -----------------------------------------------------------------------------------

DAILY = ScheduleSettings(slots=["09:00", "18:00"])


def test_replan_shifts_passed_posts_in_order_to_the_next_free_slots():
    now = utc(2026, 12, 7, 10)
    pending = [
        Taken(utc(2026, 12, 6, 9), "a"),  # passed in the outage
        Taken(utc(2026, 12, 6, 18), "b"),  # passed
        Taken(utc(2026, 12, 7, 18), "c"),  # still ahead, but "a" needs its slot
        Taken(utc(2026, 12, 10, 9), "d"),  # far enough ahead to keep its slot
    ]
    assert replan(DAILY, pending, now) == [
        ("a", utc(2026, 12, 7, 18)),
        ("b", utc(2026, 12, 8, 9)),
        ("c", utc(2026, 12, 8, 18)),
        ("d", utc(2026, 12, 10, 9)),
    ]


def test_replan_keeps_posts_that_are_still_ahead():
    now = utc(2026, 12, 7, 10)
    pending = [Taken(utc(2026, 12, 7, 18), "a"), Taken(utc(2026, 12, 8, 9), "b")]
    assert replan(DAILY, pending, now) == [("a", utc(2026, 12, 7, 18)), ("b", utc(2026, 12, 8, 9))]
    own = [Taken(utc(2026, 12, 7, 13, 45), "own")]  # a photo's own time, off the slots
    assert replan(DAILY, own, now) == [("own", utc(2026, 12, 7, 13, 45))]


def test_replan_never_goes_back_in_the_queue_nor_before_now():
    now = utc(2026, 12, 7, 10)
    pending = [Taken(utc(2026, 12, 9, 9), "late"), Taken(utc(2026, 12, 8, 9), "early")]
    assert replan(DAILY, pending, now) == [("late", utc(2026, 12, 9, 9)), ("early", utc(2026, 12, 9, 18))]
    passed = [Taken(utc(2026, 12, 1, 12), "x"), Taken(utc(2026, 12, 2, 12), "y")]
    assert replan(None, passed, now) == [("x", now), ("y", now)]


def test_replan_counts_published_posts():
    now = utc(2026, 12, 7, 10)
    capped = DAILY.model_copy(update={"max_per_day": 2})
    published = taken(utc(2026, 12, 7, 9), utc(2026, 12, 7, 9, 30))  # today is full
    assert replan(capped, [Taken(utc(2026, 12, 7, 9), "a")], now, published=published) == [("a", utc(2026, 12, 8, 9))]
    # A published post holds its slot instant.
    assert replan(DAILY, [Taken(utc(2026, 12, 6, 9), "a")], now, published=taken(utc(2026, 12, 7, 18))) == [
        ("a", utc(2026, 12, 8, 9))
    ]


def test_replan_moves_a_waiting_post_later_never_earlier():
    now = utc(2026, 12, 7, 10)
    # "a" takes Monday 18:00; with 1 post per 48 h, "b" cannot keep Wednesday 09:00 and takes
    # the first slot 48 h after "a".
    pending = [Taken(utc(2026, 12, 6, 9), "a"), Taken(utc(2026, 12, 9, 9), "b")]
    assert replan(DAILY, pending, now, quotas=[Quota(1, 2 * DAY)]) == [
        ("a", utc(2026, 12, 7, 18)),
        ("b", utc(2026, 12, 9, 18)),
    ]


def test_replan_moves_a_blocked_post_on_from_its_own_time():
    now = utc(2026, 12, 7, 10)
    capped = DAILY.model_copy(update={"max_per_day": 1})
    published = taken(utc(2026, 12, 9, 8))  # counted although after now (e.g. a clock ahead)
    # Wednesday is full: "b" moves on to Thursday, not back to the free Monday and Tuesday slots.
    assert replan(capped, [Taken(utc(2026, 12, 9, 18), "b")], now, published=published) == [("b", utc(2026, 12, 10, 9))]
    # A photo's own time that has not passed stays on the full day, as next_slot placed it.
    own = Taken(utc(2026, 12, 9, 13, 15), "own", own=True)
    assert replan(capped, [own], now, published=published) == [("own", own.at)]


def test_replan_keeps_a_photos_own_time_and_moves_the_others_around_it():
    now = utc(2026, 12, 7, 10)
    capped = DAILY.model_copy(update={"max_per_day": 2})
    pending = [
        Taken(utc(2026, 12, 7, 9), "a"),  # passed in the outage
        Taken(utc(2026, 12, 7, 13, 30), "own", own=True),  # the photographer's time: it stays
        Taken(utc(2026, 12, 7, 18), "b"),
    ]
    # "a" takes 18:00 (Monday: "own" and "a" make two), so "b" moves to Tuesday.
    assert replan(capped, pending, now) == [
        ("a", utc(2026, 12, 7, 18)),
        ("own", utc(2026, 12, 7, 13, 30)),
        ("b", utc(2026, 12, 8, 9)),
    ]
    # Its time passed in the outage: it flows on with the others, in order.
    passed = [Taken(utc(2026, 12, 7, 9, 30), "own", own=True), Taken(utc(2026, 12, 7, 18), "b")]
    assert replan(DAILY, passed, now) == [("own", utc(2026, 12, 7, 18)), ("b", utc(2026, 12, 8, 9))]
    # A quota still moves it: one post per 12 h, and a post went out at 08:00.
    quota = [Quota(1, 12 * HOUR)]
    kept = [Taken(utc(2026, 12, 7, 13, 30), "own", own=True)]
    assert replan(DAILY, kept, now, quotas=quota, published=taken(utc(2026, 12, 7, 8))) == [
        ("own", utc(2026, 12, 8, 9))
    ]


def test_replan_with_the_x_cap_without_slots():
    now = utc(2026, 12, 7, 12)
    published = taken(*(now - timedelta(hours=20) + timedelta(minutes=minute) for minute in range(10)))
    pending = [Taken(now - HOUR, f"q{index}") for index in range(20)]
    planned = replan(None, pending, now, quotas=[X_DAILY_CAP], published=published)
    times = [moment for _, moment in planned]
    assert times[:7] == [now] * 7
    # Then one each time a published post leaves the window (the 10 at 16:00 .. 16:09 + 24 h).
    assert times[7:17] == [utc(2026, 12, 7, 16, minute) for minute in range(10)]
    assert times[17:] == [now + DAY] * 3  # the first seven leave the window


def test_replan_names_the_post_that_finds_no_slot():
    pending = [Taken(utc(2026, 12, 1), "a"), Taken(utc(2026, 12, 1), "b")]
    with pytest.raises(NoSlot, match="pending post b"):
        replan(None, pending, MONDAY, quotas=[Quota(1, timedelta(days=400))])


def test_a_thousand_post_queue():
    now = utc(2026, 12, 7, 10)  # Monday, 11:00 in Berlin
    pending = [Taken(now - timedelta(minutes=index), f"post-{index}") for index in range(1000)]
    keys = [post.key for post in pending]

    # Slots and max_per_day: today is full (the published posts), then 2 a weekday, 1 a weekend day.
    schedule = ScheduleSettings(
        slots=["Mon-Fri 09:00, 13:00, 18:00", "Sat,Sun 11:00"], timezone="Europe/Berlin", max_per_day=2
    )
    published = taken(*(now - timedelta(hours=hours) for hours in range(4)))
    planned = replan(schedule, pending, now, quotas=[X_DAILY_CAP, INSTAGRAM_LIMIT], published=published)
    assert [key for key, _ in planned] == keys
    times = [moment for _, moment in planned]
    assert times[0] == utc(2026, 12, 8, 8) and all(a < b for a, b in zip(times, times[1:], strict=False))
    assert all(is_slot(schedule, moment) for moment in times)
    per_day: dict[date, int] = {}
    for moment in times:
        per_day[moment.astimezone(BERLIN).date()] = per_day.get(moment.astimezone(BERLIN).date(), 0) + 1
    days = sorted(per_day)
    every_day = [days[0] + timedelta(days=index) for index in range((days[-1] - days[0]).days)]
    assert [per_day.get(day, 0) for day in every_day] == [1 if day.weekday() >= 5 else 2 for day in every_day]

    # Quarter-hour slots and X's cap: 17 in any 24 hours, each as early as the cap allows.
    quarters = ScheduleSettings(slots=[f"{hour:02}:00 {hour:02}:15 {hour:02}:30 {hour:02}:45" for hour in range(24)])
    capped = [moment for _, moment in replan(quarters, pending, now, quotas=[X_DAILY_CAP])]
    assert capped[:17] == [now + timedelta(minutes=15 * index) for index in range(17)]
    assert all(capped[index + 17] == capped[index] + DAY for index in range(len(capped) - 17))

    # As soon as possible with Instagram's limit: 50 at a time, a day apart.
    asap = [moment for _, moment in replan(None, pending, now, quotas=[INSTAGRAM_LIMIT])]
    assert asap == [now + DAY * (index // 50) for index in range(1000)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=schedules,
    pending_offsets=st.lists(offsets, max_size=15),
    published_offsets=st.lists(offsets.map(lambda offset: -abs(offset)), max_size=15),
    quotas=st.sampled_from(QUOTA_CHOICES),
)
def test_replan_keeps_order_and_every_rule(schedule, pending_offsets, published_offsets, quotas):
    now = utc(2026, 10, 24, 12)
    pending = [Taken(now + offset, f"k{index}") for index, offset in enumerate(pending_offsets)]
    published = [now + offset for offset in published_offsets]
    planned = replan(schedule, pending, now, quotas=quotas, published=taken(*published))
    assert [key for key, _ in planned] == [post.key for post in pending]
    times = [moment for _, moment in planned]
    assert all(moment >= now for moment in times)
    assert all(a <= b for a, b in zip(times, times[1:], strict=False))
    for post, moment in zip(pending, times, strict=True):
        assert moment >= post.at  # later or kept, never earlier
    for index, moment in enumerate(times):
        kept = moment == pending[index].at
        assert _allowed(schedule, [*published, *times[:index]], moment, quotas, off_slot=kept)


# --- the schedule clock -----------------------------------------------------------------------


class FakeRealClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_real_clock():
    clock = ScheduleClock()
    before = datetime.now(UTC)
    reading = clock.now()
    assert clock.is_real and reading.tzinfo is not None
    assert before <= reading <= datetime.now(UTC)
    assert clock.real_seconds(timedelta(minutes=2)) == 120.0
    assert clock.real_seconds(timedelta(seconds=-5)) == 0.0


def test_scaled_clock_runs_from_its_epoch():
    epoch = utc(2026, 12, 7, 7, 59)
    real = FakeRealClock(epoch)
    clock = ScheduleClock(1440, epoch, real_now=real)
    assert not clock.is_real
    assert clock.now() == epoch
    real.at = epoch + timedelta(seconds=10)
    assert clock.now() == epoch + timedelta(seconds=14400)
    assert clock.real_seconds(DAY) == 60.0
    assert clock.real_seconds(timedelta(0)) == 0.0
    offset_epoch = datetime(2026, 12, 7, 8, 59, tzinfo=timezone(HOUR))
    assert ScheduleClock(2, offset_epoch, real_now=FakeRealClock(epoch)).now() == epoch


def test_a_compressed_day_of_slots_plays_out_in_a_real_minute():
    epoch = utc(2026, 12, 7, 7, 59)  # a minute before Monday's 09:00 slot in Berlin
    real = FakeRealClock(epoch)
    clock = ScheduleClock(1440, epoch, real_now=real)  # a virtual day per real minute
    first = next_slot(WEEKDAYS, [], clock.now())
    assert first == utc(2026, 12, 7, 8)
    wait = clock.real_seconds(first - clock.now())
    assert wait == pytest.approx(60 / 1440)
    real.at += timedelta(seconds=wait)
    assert first <= clock.now() < first + timedelta(seconds=1)
    second = next_slot(WEEKDAYS, taken(first), clock.now())
    assert second == utc(2026, 12, 7, 17)
    assert clock.real_seconds(second - clock.now()) == pytest.approx(22.5, abs=0.01)  # 9 hours


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ((60, None), "needs both a scale and an epoch"),
        ((None, MONDAY), "needs both a scale and an epoch"),
        ((0.5, MONDAY), "scale is from 1 to"),
        ((float("inf"), MONDAY), "scale is a number"),
        ((60, datetime(2026, 12, 7)), "epoch needs a UTC offset"),
    ],
)
def test_clock_arguments(arguments, says):
    with pytest.raises(ValueError, match=says):
        ScheduleClock(*arguments)


def test_clock_from_env():
    assert ScheduleClock.from_env({}).is_real
    assert ScheduleClock.from_env({SCALE_VARIABLE: " ", EPOCH_VARIABLE: ""}).is_real
    clock = ScheduleClock.from_env({SCALE_VARIABLE: "60", EPOCH_VARIABLE: "2026-12-07T09:00:00+01:00"})
    assert clock.scale == 60.0 and clock.epoch == utc(2026, 12, 7, 8)
    assert ScheduleClock.from_env({SCALE_VARIABLE: "1.5", EPOCH_VARIABLE: "2026-12-07T08:00:00Z"}).scale == 1.5


def test_clock_from_the_process_environment(monkeypatch):
    monkeypatch.setenv(SCALE_VARIABLE, "24")
    monkeypatch.setenv(EPOCH_VARIABLE, "2026-12-07T08:00:00+00:00")
    assert ScheduleClock.from_env().scale == 24.0
    monkeypatch.delenv(SCALE_VARIABLE)
    monkeypatch.delenv(EPOCH_VARIABLE)
    assert ScheduleClock.from_env().is_real


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({SCALE_VARIABLE: "60"}, f"{SCALE_VARIABLE} is set but {EPOCH_VARIABLE} is not"),
        ({EPOCH_VARIABLE: "2026-12-07T08:00:00Z"}, f"{EPOCH_VARIABLE} is set but {SCALE_VARIABLE} is not"),
        ({SCALE_VARIABLE: "fast", EPOCH_VARIABLE: "2026-12-07T08:00:00Z"}, f"{SCALE_VARIABLE} must be a number"),
        ({SCALE_VARIABLE: "0.5", EPOCH_VARIABLE: "2026-12-07T08:00:00Z"}, f"{SCALE_VARIABLE} must be a number from 1"),
        ({SCALE_VARIABLE: "nan", EPOCH_VARIABLE: "2026-12-07T08:00:00Z"}, f"{SCALE_VARIABLE} must be a number"),
        ({SCALE_VARIABLE: "1e9", EPOCH_VARIABLE: "2026-12-07T08:00:00Z"}, f"{SCALE_VARIABLE} must be a number"),
        ({SCALE_VARIABLE: "60", EPOCH_VARIABLE: "yesterday"}, f"{EPOCH_VARIABLE} must be an ISO 8601"),
        ({SCALE_VARIABLE: "60", EPOCH_VARIABLE: "2026-12-07T08:00:00"}, f"{EPOCH_VARIABLE} must be an ISO 8601"),
    ],
)
def test_clock_configuration_errors_name_the_variable(variables, says):
    with pytest.raises(ConfigError, match=says):
        ScheduleClock.from_env(variables)
