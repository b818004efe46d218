"""When a person may be called: preferred hours minus quiet hours, in their own timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.events.notifications import HoursWindow
from runtime.errors import RuleViolation
from services.notifications.domain.hours import Availability

pytestmark = pytest.mark.unit


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


SHANGHAI = Availability("Asia/Shanghai")  # defaults: preferred 09-20, quiet 21-08


def test_the_first_callable_moment_is_the_start_of_preferred_hours_in_local_time() -> None:
    # 08:00-20:00 Shanghai time on 24 November
    stretch = SHANGHAI.first_callable(utc(24, 0), utc(24, 12))
    assert stretch == (utc(24, 1), utc(24, 12))  # 09:00 to 20:00 local


def test_a_window_opening_in_quiet_hours_waits_for_the_morning() -> None:
    # asked at 23:30 local (15:30 UTC), window until the next evening
    stretch = SHANGHAI.first_callable(utc(23, 15, 30), utc(24, 12))
    assert stretch is not None
    assert stretch[0] == utc(24, 1)


def test_quiet_hours_that_wrap_past_midnight_are_never_callable() -> None:
    for moment in (utc(23, 13), utc(23, 16), utc(23, 23, 59)):  # 21:00, 00:00, 07:59 local
        assert SHANGHAI.is_quiet(moment)
    assert not SHANGHAI.is_quiet(utc(24, 0))  # 08:00 local


def test_preferred_hours_inside_quiet_hours_are_cut_out() -> None:
    night_owl = Availability(
        "Asia/Shanghai",
        HoursWindow(start="18:00", end="23:00"),
        HoursWindow(start="22:00", end="07:00"),
    )
    assert night_owl.callable_intervals(utc(24, 0), utc(24, 16)) == [(utc(24, 10), utc(24, 14))]


def test_without_preferred_hours_in_the_window_any_non_quiet_time_is_used() -> None:
    # window 08:00-08:50 local: before preferred hours but after quiet hours
    stretch = SHANGHAI.first_callable(utc(24, 0), utc(24, 0, 50))
    assert stretch == (utc(24, 0), utc(24, 0, 50))


def test_a_window_entirely_in_quiet_hours_has_no_callable_moment() -> None:
    assert SHANGHAI.first_callable(utc(23, 14), utc(23, 20)) is None  # 22:00-04:00 local
    assert SHANGHAI.next_allowed(utc(23, 14)) == (utc(24, 1), utc(24, 12))


def test_a_number_abroad_is_called_in_that_persons_hours_across_a_dst_change() -> None:
    new_york = Availability("America/New_York")
    # 31 October 2026 is still summer time (UTC-4); 2 November is winter time (UTC-5)
    before = new_york.first_callable(utc(31, 4, month=10), utc(31, 23, month=10))
    after = new_york.first_callable(utc(2, 4), utc(2, 23))
    assert before is not None
    assert after is not None
    assert before[0] == utc(31, 13, month=10)  # 09:00 EDT
    assert after[0] == utc(2, 14)  # 09:00 EST


def test_no_quiet_hours_means_only_preferred_hours_count() -> None:
    anytime = Availability("Europe/Paris", HoursWindow(start="00:00", end="00:00"), None)
    assert anytime.first_callable(utc(24, 2), utc(24, 3)) == (utc(24, 2), utc(24, 3))


def test_an_unknown_timezone_is_refused() -> None:
    with pytest.raises(RuleViolation, match="unknown timezone"):
        Availability("Mars/Olympus_Mons").first_callable(utc(24, 0), utc(24, 1))


def test_quiet_hours_every_day_leave_no_moment_within_a_week() -> None:
    never = Availability(
        "Asia/Tokyo",
        HoursWindow(start="09:00", end="10:00"),
        HoursWindow(start="00:00", end="23:59"),
    )
    # one minute a day is left: 23:59-00:00
    stretch = never.next_allowed(utc(24, 0), timedelta(days=7))
    assert stretch[1] - stretch[0] == timedelta(minutes=1)
