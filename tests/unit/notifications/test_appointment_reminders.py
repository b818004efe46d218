# ruff: noqa: RUF001  (Chinese and Japanese text uses full-width punctuation)
"""Appointment reminders: the message in the customer's language with the time at the site,
and when it goes (held out of the person's quiet hours while that still leaves a margin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from contracts.events.checkin_appointments import AppointmentReminderDue
from contracts.events.notifications import HoursWindow, NotificationKind
from contracts.vocabulary import ServiceQueue
from services.notifications.domain.appointments import (
    REMINDER_MARGIN,
    reminder_not_before,
    reminder_variables,
)
from services.notifications.domain.templates import render

pytestmark = pytest.mark.unit

SH = "Asia/Shanghai"
# 10:00 in Shanghai on 24 November 2026
START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def due(at: datetime, start: datetime = START) -> AppointmentReminderDue:
    return AppointmentReminderDue(
        appointment_id=UUID("00000000-0000-4000-8000-0000000000a1"),
        site_id="sz-futian-01",
        site_name="福田服务中心",
        timezone=SH,
        queue=ServiceQueue.WALLET_PAYMENTS,
        slot_start=start,
        slot_end=start + timedelta(minutes=20),
        customer_id="cust-1",
        account_ref="acct-1",
        before_minutes=int((start - at).total_seconds() // 60),
        due_at=at,
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-CN", "提醒：您已预约 11月24日 10:00（当地时间）在福田服务中心办理「钱包与支付」业务"),
        ("en", "Reminder: your appointment for wallet and payments at 福田服务中心 is on 24 Nov"),
        ("fr", "Rappel : votre rendez-vous pour « portefeuille et paiements » à 福田服务中心 est"),
        ("de", "Erinnerung: Ihr Termin für „Wallet und Zahlungen“ in 福田服务中心 ist am 24. Nov"),
        ("ja", "11月24日 10:00（現地時間）に福田服务中心で「ウォレットとお支払い」のご予約"),
    ],
)
def test_the_reminder_names_the_time_at_the_site_and_the_service(
    language: str, expected: str
) -> None:
    reminder = due(START - timedelta(hours=2))
    rendered = render(
        NotificationKind.APPOINTMENT_REMINDER, language, reminder_variables(reminder), SH
    )
    assert rendered.body.startswith(expected), rendered.body
    assert "wallet_payments" not in rendered.body


def test_a_reminder_outside_quiet_hours_goes_at_once() -> None:
    assert reminder_not_before(due(START - timedelta(hours=2)), None, None) is None  # 08:00


def test_a_reminder_due_in_quiet_hours_waits_for_their_end_if_it_still_leaves_a_margin() -> None:
    # 24 hours ahead: 10:00 the day before, in the person's quiet hours 09:00-11:00
    quiet = HoursWindow(start="09:00", end="11:00")
    held = reminder_not_before(due(START - timedelta(hours=24)), quiet, SH)
    assert held == START - timedelta(hours=23)  # 11:00 the day before
    # 2 hours ahead (08:00) in quiet hours until 09:45: holding it would leave 15 minutes
    early = HoursWindow(start="07:00", end="09:45")
    assert reminder_not_before(due(START - timedelta(hours=2)), early, SH) is None
    assert timedelta(minutes=15) < REMINDER_MARGIN
    # the default quiet hours (21:00-08:00) in the person's own timezone
    night = due(datetime(2026, 11, 23, 15, 0, tzinfo=UTC), START + timedelta(days=1))  # 23:00
    assert reminder_not_before(night, None, None) == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
