"""Service levels on the business calendar: due times per type and priority, the clock paused
while awaiting the customer, warnings and breaches that escalate (timers fire the checks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from contracts.events.cases import (
    CaseEscalated,
    CasePriority,
    CaseStatus,
    CaseType,
    ServiceLevelBreached,
    ServiceLevelKind,
    ServiceLevelsScheduled,
    ServiceLevelWarning,
)
from services.cases.domain.calendar import SERVICE_CENTRE, BusinessCalendar
from services.cases.domain.case import (
    ChangePriority,
    CheckServiceLevel,
    decide_change_priority,
    decide_check_service_level,
)
from services.cases.domain.case_types import CASE_TYPES
from tests.unit.cases.support import T0, Given, opening

pytestmark = pytest.mark.unit

KIND = ServiceLevelKind


def utc(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# -- the calendar -----------------------------------------------------------------------------

OFFICE = BusinessCalendar(
    calendar_id="test-office",
    timezone="Asia/Shanghai",
    opens=time(9),
    closes=time(18),
    workdays=frozenset(range(5)),  # Monday to Friday
    closed_dates=frozenset({date(2026, 11, 25)}),
)


def test_adding_business_minutes_skips_nights_weekends_and_closed_dates() -> None:
    friday_5pm = utc(2026, 11, 27, 9)  # 17:00 in Shanghai
    assert OFFICE.add(friday_5pm, 120) == utc(2026, 11, 30, 2)  # Monday 10:00
    tuesday_5pm = utc(2026, 11, 24, 9)
    assert OFFICE.add(tuesday_5pm, 120) == utc(2026, 11, 26, 2)  # Wednesday is closed
    sunday = utc(2026, 11, 29, 4)
    assert OFFICE.add(sunday, 0) == utc(2026, 11, 30, 1)  # the next opening


def test_subtract_and_minutes_between_are_the_inverse_of_add() -> None:
    start = utc(2026, 11, 27, 8)  # Friday 16:00
    due = OFFICE.add(start, 300)
    assert OFFICE.subtract(due, 300) == start
    assert OFFICE.minutes_between(start, due) == 300
    assert OFFICE.minutes_between(due, start) == 0


def test_the_service_centre_calendar_is_explicit() -> None:
    assert SERVICE_CENTRE.timezone == "Asia/Shanghai"
    assert (SERVICE_CENTRE.opens, SERVICE_CENTRE.closes) == (time(9), time(21))
    assert date(2026, 10, 1) in SERVICE_CENTRE.closed_dates
    late = utc(2026, 11, 23, 12, 30)  # 20:30 in Shanghai
    assert SERVICE_CENTRE.add(late, 60) == utc(2026, 11, 24, 1, 30)  # 09:30 next morning


# -- the clocks of a case ---------------------------------------------------------------------


def levels(given: Given) -> ServiceLevelsScheduled:
    return [e for e in given.history if isinstance(e, ServiceLevelsScheduled)][-1]


def due(given: Given, kind: ServiceLevelKind) -> datetime | None:
    target = given.case.target(kind)
    return target.due_at if target else None


def test_due_times_follow_the_type_and_priority_on_the_calendar() -> None:
    given = Given().open(opening(CaseType.ACCOUNT_RECOVERY_LOST_PHONE))
    spec = CASE_TYPES[CaseType.ACCOUNT_RECOVERY_LOST_PHONE].service_levels
    assert spec.first_response[CasePriority.NORMAL] == 120
    assert due(given, KIND.FIRST_RESPONSE) == SERVICE_CENTRE.add(T0, 120) == T0 + timedelta(hours=2)
    # 24 business hours at 12 hours a day: two days later
    assert due(given, KIND.RESOLUTION) == T0 + timedelta(days=2)
    first = given.case.target(KIND.FIRST_RESPONSE)
    assert first is not None
    assert first.warn_at == T0 + timedelta(minutes=90)


def test_the_first_staff_response_stops_the_first_response_clock() -> None:
    given = Given().open().status(CaseStatus.TRIAGE)
    assert due(given, KIND.FIRST_RESPONSE) is None
    assert due(given, KIND.RESOLUTION) is not None


def test_a_higher_priority_brings_the_due_times_forward() -> None:
    given = Given().open()
    before = due(given, KIND.RESOLUTION)
    given.apply(decide_change_priority(given.case, ChangePriority(CasePriority.URGENT, "x", T0)))
    after = due(given, KIND.RESOLUTION)
    assert before is not None
    assert after is not None
    assert after < before
    assert after == SERVICE_CENTRE.add(T0, 24 * 60 // 3)


def test_the_resolution_clock_pauses_while_awaiting_the_customer_and_resumes_later() -> None:
    given = Given().open().status(CaseStatus.TRIAGE)
    original = due(given, KIND.RESOLUTION)
    given.status(CaseStatus.AWAITING_CUSTOMER, at=T0 + timedelta(hours=1))
    assert levels(given).paused is True
    assert given.case.sla_paused
    # five business hours later the customer answers: the due time moves five hours on
    given.status(CaseStatus.IN_REVIEW, at=T0 + timedelta(hours=6))
    assert levels(given).paused is False
    assert levels(given).paused_minutes == 300
    assert original is not None
    assert due(given, KIND.RESOLUTION) == SERVICE_CENTRE.add(original, 300)
    assert due(given, KIND.NEXT_RESPONSE) == T0 + timedelta(hours=6, minutes=240)


def test_a_pause_over_the_night_counts_only_business_minutes() -> None:
    given = Given().open().status(CaseStatus.TRIAGE)
    evening = utc(2026, 11, 23, 12)  # 20:00 Shanghai
    morning = utc(2026, 11, 24, 2)  # 10:00 next day
    given.status(CaseStatus.AWAITING_CUSTOMER, at=evening)
    given.status(CaseStatus.IN_REVIEW, at=morning)
    assert levels(given).paused_minutes == 120  # 20:00-21:00 and 09:00-10:00


def test_a_timer_warns_then_breaches_and_the_breach_escalates_once() -> None:
    given = Given().open()
    first = given.case.target(KIND.FIRST_RESPONSE)
    assert first is not None
    warned = given.apply(
        decide_check_service_level(
            given.case, CheckServiceLevel(KIND.FIRST_RESPONSE, first.due_at, True, first.warn_at)
        )
    )
    assert [type(e) for e in warned] == [ServiceLevelWarning]
    breach = CheckServiceLevel(KIND.FIRST_RESPONSE, first.due_at, False, first.due_at)
    events = given.apply(decide_check_service_level(given.case, breach))
    assert isinstance(events[0], ServiceLevelBreached)
    [escalated] = [e for e in events if isinstance(e, CaseEscalated)]
    assert escalated.reason == "service_level_breached"
    assert given.case.status is CaseStatus.ESCALATED
    assert decide_check_service_level(given.case, breach) == []  # fired again: nothing


def test_stale_timers_do_nothing() -> None:
    given = Given().open()
    first = given.case.target(KIND.FIRST_RESPONSE)
    assert first is not None
    given.status(CaseStatus.TRIAGE)  # responded: the clock is met
    check = CheckServiceLevel(KIND.FIRST_RESPONSE, first.due_at, False, first.due_at)
    assert decide_check_service_level(given.case, check) == []
    resolution = given.case.target(KIND.RESOLUTION)
    assert resolution is not None
    moved = CheckServiceLevel(KIND.RESOLUTION, resolution.due_at - timedelta(hours=1), False, T0)
    assert decide_check_service_level(given.case, moved) == []
    given.status(CaseStatus.AWAITING_CUSTOMER)  # paused
    paused = CheckServiceLevel(KIND.RESOLUTION, resolution.due_at, False, resolution.due_at)
    assert decide_check_service_level(given.case, paused) == []
