# ruff: noqa: RUF001  (full-width letters and punctuation are what people type)
"""Campaign follow-ups, the pure rules: marketing only in the person's allowed hours (their
timezone, preferred and quiet hours, the service's marketing window), batches that re-check
the tag and the hours, withdrawal of queued marketing messages (and only those), a cancel that
withdraws, inbound opt-out replies (the keywords, whose consent, on which channel)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events.notifications import (
    HoursWindow,
    MessageChannel,
    MessagePurpose,
    NotificationKind,
    NotificationWithdrawn,
    RecipientPreferencesSet,
    WithdrawalReason,
)
from contracts.events.notifications_campaigns import (
    CampaignCancelled,
    CampaignCompleted,
    CampaignContent,
    CampaignProgressed,
)
from runtime.errors import RuleViolation
from services.notifications.application.recipients import InboundReply
from services.notifications.config import NotificationSettings
from services.notifications.domain.campaigns import (
    CAMPAIGN,
    Audience,
    Campaign,
    CampaignStatus,
    CancelCampaign,
    StartCampaign,
    TargetCheck,
    decide_batch,
    decide_cancel,
    decide_start,
)
from services.notifications.domain.hours import Availability, next_marketing_moment
from services.notifications.domain.messages import (
    NOTIFICATION,
    Notification,
    NotificationStatus,
    RequestNotification,
    decide_request,
    decide_sent,
    decide_withdraw,
)
from services.notifications.domain.recipients import (
    OptOut,
    Recipient,
    decide_opt_out,
    marketing_consented,
    marketing_moment,
    opt_out_keyword,
    require_inbound_channel,
    sender_address,
)

pytestmark = pytest.mark.unit

SMS, WECHAT, QQ, EMAIL = (
    MessageChannel.SMS,
    MessageChannel.WECHAT,
    MessageChannel.QQ,
    MessageChannel.EMAIL,
)
SHANGHAI = Availability("Asia/Shanghai")  # defaults: preferred 09-20, quiet 21-08
WINDOW = HoursWindow(start="09:00", end="20:00")


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time in November 2026, as UTC (UTC+8, no DST)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


# -- marketing hours --------------------------------------------------------------------------


def test_inside_the_window_and_preferred_hours_marketing_may_go_at_once() -> None:
    at = shanghai(23, 10, 30)
    assert next_marketing_moment(at, SHANGHAI, WINDOW) == at


def test_at_night_in_shanghai_it_waits_for_nine_the_next_morning() -> None:
    assert next_marketing_moment(shanghai(23, 22, 15), SHANGHAI, WINDOW) == shanghai(24, 9)
    # and before the morning's window opens, the same morning
    assert next_marketing_moment(shanghai(24, 6, 0), SHANGHAI, WINDOW) == shanghai(24, 9)


def test_the_service_window_caps_the_persons_preferred_hours() -> None:
    night_owl = Availability(
        "Asia/Shanghai",
        preferred=HoursWindow(start="18:00", end="23:30"),
        quiet=HoursWindow(start="02:00", end="11:00"),
    )
    # preferred ∩ window = 18:00-20:00
    assert next_marketing_moment(shanghai(23, 12), night_owl, WINDOW) == shanghai(23, 18)
    assert next_marketing_moment(shanghai(23, 20, 30), night_owl, WINDOW) == shanghai(24, 18)


def test_preferred_hours_outside_the_window_fall_back_to_its_non_quiet_part() -> None:
    late = Availability(
        "Asia/Shanghai",
        preferred=HoursWindow(start="21:00", end="23:00"),
        quiet=HoursWindow(start="00:00", end="12:00"),
    )
    assert next_marketing_moment(shanghai(23, 8), late, WINDOW) == shanghai(23, 12)


def test_quiet_hours_over_the_whole_window_leave_no_moment() -> None:
    never = Availability(
        "Asia/Shanghai",
        preferred=HoursWindow(start="09:00", end="20:00"),
        quiet=HoursWindow(start="08:00", end="21:00"),
    )
    assert next_marketing_moment(shanghai(23, 10), never, WINDOW) is None


def test_a_person_abroad_is_reached_in_their_own_morning_daylight_saving_included() -> None:
    paris = Availability("Europe/Paris")
    # 29 March 2026: clocks go forward at 02:00 in Paris (UTC+1 → UTC+2)
    saturday_night = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 23:00 in Paris
    assert next_marketing_moment(saturday_night, paris, WINDOW) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )  # 09:00 CEST


def prefs(**changes: object) -> RecipientPreferencesSet:
    values: dict[str, object] = {
        "account_ref": "acct-1",
        "channels": [SMS, WECHAT],
        "language": "zh-CN",
        "timezone": "Asia/Shanghai",
        "marketing_consent": [SMS, WECHAT],
        "phone": "+8613800000001",
        "wechat": "wx-1",
        "set_by": "agent-1",
        "set_at": shanghai(1, 10),
    }
    values.update(changes)
    return RecipientPreferencesSet(**values)  # type: ignore[arg-type]


def test_the_service_settings_give_the_window_and_the_timezone_of_people_without_one() -> None:
    settings = NotificationSettings(
        marketing_window_start="10:00", marketing_window_end="18:00", marketing_timezone="UTC"
    )
    at = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert marketing_moment(prefs(timezone=None), settings, at) == at.replace(hour=10)
    assert marketing_moment(prefs(), settings, at) == at  # 16:00 in Shanghai
    assert marketing_moment(None, settings, at) == at.replace(hour=10)


def test_consent_needs_the_channel_and_an_address_for_it() -> None:
    assert marketing_consented(prefs(), SMS)
    assert not marketing_consented(prefs(marketing_consent=[WECHAT]), SMS)
    assert not marketing_consented(prefs(phone=None), SMS)  # erased: the address is gone
    assert not marketing_consented(None, SMS)


# -- batches re-check the tag and the hours ----------------------------------------------------

CAMPAIGN_ID = uuid.UUID("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
T0 = shanghai(23, 10)


def running(targets: tuple[str, ...], rate: int = 6000) -> Campaign:
    command = StartCampaign(
        campaign_id=CAMPAIGN_ID,
        name="Wallet back",
        tag="wallet-reactivated",
        channel=SMS,
        contents=(CampaignContent(language="en", title="Back", body="10% off."),),
        default_language="en",
        rate_per_minute=rate,
        audience=Audience(targets, (), ()),
        started_by="sup-1",
        at=T0,
    )
    return CAMPAIGN.fold(decide_start(Campaign(), command))


def test_a_batch_skips_the_untagged_the_excluded_the_unconsenting_and_the_unreachable() -> None:
    state = running(("a1", "a2", "a3", "a4", "a5", "a6"))
    decision = decide_batch(
        state,
        [
            TargetCheck("a1", consented=True, excluded=False),
            # untagged wins over everything (they are no longer in the audience)
            TargetCheck("a2", consented=False, excluded=True, tagged=False),
            TargetCheck("a3", consented=True, excluded=True, reachable_hours=False),
            TargetCheck("a4", consented=False, excluded=False, reachable_hours=False),
            TargetCheck("a5", consented=True, excluded=False, reachable_hours=False),
            TargetCheck("a6", consented=True, excluded=False, tagged=True),
        ],
        T0,
    )
    progressed, completed = decision.events
    assert isinstance(progressed, CampaignProgressed)
    assert decision.requested == ("a1", "a6")
    assert progressed.skipped_untagged == ["a2"]
    assert progressed.skipped_excluded == ["a3"]
    assert progressed.skipped_consent == ["a4"]
    assert progressed.skipped_hours == ["a5"]
    assert isinstance(completed, CampaignCompleted)
    assert (completed.requested, completed.skipped_untagged, completed.skipped_hours) == (2, 1, 1)
    after = state
    for event in decision.events:
        after = CAMPAIGN.evolve(after, event)
    assert (after.skipped_untagged, after.skipped_hours, after.requested) == (1, 1, 2)


# -- cancel withdraws ---------------------------------------------------------------------------


def test_a_cancel_records_how_many_waiting_messages_it_withdrew() -> None:
    state = running(("a1", "a2", "a3"), rate=1)
    [cancelled] = decide_cancel(state, CancelCampaign("sup-1", "wrong text", T0, withdrawn=2))
    assert isinstance(cancelled, CampaignCancelled)
    assert (cancelled.withdrawn, cancelled.not_reached) == (2, 3)
    assert CAMPAIGN.evolve(state, cancelled).withdrawn == 2


def test_a_completed_campaign_may_be_cancelled_only_while_messages_wait() -> None:
    state = running(("a1",))
    decision = decide_batch(state, [TargetCheck("a1", consented=True, excluded=False)], T0)
    completed = state
    for event in decision.events:
        completed = CAMPAIGN.evolve(completed, event)
    assert completed.status is CampaignStatus.COMPLETED
    with pytest.raises(RuleViolation, match="already completed and its messages have gone out"):
        decide_cancel(completed, CancelCampaign("sup-1", None, T0))
    [cancelled] = decide_cancel(completed, CancelCampaign("sup-1", None, T0, withdrawn=1))
    after = CAMPAIGN.evolve(completed, cancelled)
    assert (after.status, after.withdrawn, after.remaining) == (CampaignStatus.CANCELLED, 1, 0)
    with pytest.raises(RuleViolation, match="already cancelled"):
        decide_cancel(after, CancelCampaign("sup-1", None, T0, withdrawn=1))


# -- withdrawing a queued marketing message ------------------------------------------------------


def message(purpose: MessagePurpose = MessagePurpose.MARKETING) -> Notification:
    command = RequestNotification(
        kind=NotificationKind.CAMPAIGN,
        channels=(SMS,),
        recipient_ref="account:acct-1",
        language="zh-CN",
        triggered_by=uuid.uuid4(),
        variables={"title": "t", "body": "b"},
        at=T0,
        purpose=purpose,
        account_ref="acct-1",
        addresses={SMS: "+8613800000001"},
        campaign_id=CAMPAIGN_ID,
        not_before=shanghai(24, 9),
    )
    return NOTIFICATION.fold(decide_request(NOTIFICATION.initial(), command))


def test_a_queued_marketing_message_is_withdrawn_once_and_never_sent() -> None:
    state = message()
    assert state.not_before == shanghai(24, 9)
    [withdrawn] = decide_withdraw(state, WithdrawalReason.CAMPAIGN_CANCELLED, T0)
    assert isinstance(withdrawn, NotificationWithdrawn)
    assert (withdrawn.campaign_id, withdrawn.reason) == (
        CAMPAIGN_ID,
        WithdrawalReason.CAMPAIGN_CANCELLED,
    )
    after = NOTIFICATION.evolve(state, withdrawn)
    assert after.status is NotificationStatus.WITHDRAWN
    assert decide_withdraw(after, WithdrawalReason.CONSENT_WITHDRAWN, T0) == []
    with pytest.raises(RuleViolation, match="withdrawn, not queued"):
        decide_sent(after, "sandbox", "sms-1", T0)


def test_a_sent_message_stays_sent() -> None:
    state = message()
    [sent_event] = decide_sent(state, "sandbox", "sms-1", T0)
    sent = NOTIFICATION.evolve(state, sent_event)
    assert sent.status is NotificationStatus.SENT
    assert decide_withdraw(sent, WithdrawalReason.CAMPAIGN_CANCELLED, T0) == []


def test_a_message_about_the_persons_own_affairs_is_never_withdrawn() -> None:
    with pytest.raises(RuleViolation, match="service message is never withdrawn"):
        decide_withdraw(
            message(MessagePurpose.SERVICE),
            WithdrawalReason.CONSENT_WITHDRAWN,
            T0,
        )


# -- inbound opt-out -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("TD", "TD"),
        ("td", "TD"),
        ("  Td\n", "TD"),
        ("ＴＤ", "TD"),  # full width, as a phone keyboard may type it
        ("退订", "退订"),
        (" 退订。", "退订"),
        ("STOP", "STOP"),
        ("stop!", "STOP"),
        ("Stop", "STOP"),
        ("\u3000STOP\u3000", "STOP"),
    ],
)
def test_opt_out_keywords_are_recognised_in_any_case_trimmed(text: str, keyword: str) -> None:
    assert opt_out_keyword(text) == keyword


@pytest.mark.parametrize(
    "text", ["", "OK", "don't stop", "STOP it now", "T D", "退订了吗", "unsubscribe", "S T O P"]
)
def test_other_replies_are_not_an_opt_out(text: str) -> None:
    assert opt_out_keyword(text) is None


def opt_out(channel: MessageChannel = SMS, address: str = "+8613800000001") -> OptOut:
    return OptOut(channel, address, "TD", shanghai(23, 22))


def test_an_opt_out_withdraws_consent_on_that_channel_only_and_restates_the_rest() -> None:
    before = prefs(quiet_hours=HoursWindow(start="22:00", end="07:00"))
    [changed] = decide_opt_out(Recipient(before), opt_out())
    assert isinstance(changed, RecipientPreferencesSet)
    assert changed.marketing_consent == [WECHAT]
    assert changed.set_by == "inbound:sms"
    assert changed.reason == "inbound opt-out reply TD on sms"
    assert changed.set_at == shanghai(23, 22)
    unchanged = {"marketing_consent", "set_by", "reason", "set_at"}
    assert changed.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged)


def test_an_opt_out_without_consent_there_or_from_an_address_no_longer_theirs_changes_nothing() -> (
    None
):
    assert decide_opt_out(Recipient(prefs(marketing_consent=[WECHAT])), opt_out()) == []
    assert decide_opt_out(Recipient(prefs()), opt_out(address="+8613900000002")) == []
    assert decide_opt_out(Recipient(None), opt_out()) == []
    [on_wechat] = decide_opt_out(Recipient(prefs()), opt_out(WECHAT, "wx-1"))
    assert on_wechat.marketing_consent == [SMS]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("sender", "address"),
    [
        ("+8613800000001", "+8613800000001"),
        ("008613800000001", "+8613800000001"),
        ("8613800000001", "+8613800000001"),
        ("+86 138-0000-0001", "+8613800000001"),
    ],
)
def test_a_senders_phone_is_read_as_e164(sender: str, address: str) -> None:
    assert sender_address(SMS, sender) == address


def test_open_ids_are_taken_as_they_are_and_a_reply_never_shows_its_sender_or_text() -> None:
    assert sender_address(WECHAT, " wx-1 ") == "wx-1"
    reply = InboundReply("sms-in-1", SMS, "+8613800000001", "TD", T0)
    assert "13800000001" not in repr(reply)
    assert "TD" not in repr(reply)


def test_replies_are_taken_only_on_channels_a_person_can_answer_on() -> None:
    for channel in (SMS, WECHAT, MessageChannel.QQ):
        require_inbound_channel(channel)
    with pytest.raises(RuleViolation, match="no inbound replies on email"):
        require_inbound_channel(MessageChannel.EMAIL)


def test_campaigns_go_by_every_channel_with_an_opt_out_path_email_by_its_link() -> None:
    command = StartCampaign(
        campaign_id=CAMPAIGN_ID,
        name="Wallet back",
        tag="wallet-reactivated",
        channel=EMAIL,
        contents=(CampaignContent(language="en", title="Back", body="10% off."),),
        default_language="en",
        rate_per_minute=60,
        audience=Audience(("a1",), (), ()),
        started_by="sup-1",
        at=T0,
    )
    for channel in (EMAIL, SMS, WECHAT, QQ):
        assert decide_start(Campaign(), replace(command, channel=channel))
