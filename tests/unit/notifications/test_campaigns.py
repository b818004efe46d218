"""The campaign rules: audience (consent per channel, exclusion of open complaints and appeals,
opt-out), the throttle, batches that re-check each target, completion, cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.events.cases import CaseType
from contracts.events.notifications import MessageChannel as C
from contracts.events.notifications_campaigns import (
    CampaignCancelled,
    CampaignCompleted,
    CampaignContent,
    CampaignProgressed,
    CampaignStarted,
)
from runtime.errors import RuleViolation
from services.notifications.domain.campaigns import (
    CAMPAIGN,
    Audience,
    Campaign,
    CampaignStatus,
    CancelCampaign,
    Member,
    StartCampaign,
    TargetCheck,
    content_for,
    decide_batch,
    decide_cancel,
    decide_start,
    is_complaint_or_appeal,
    next_batch_positions,
    select_audience,
    throttle,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CAMPAIGN_ID = uuid.UUID("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
CONTENTS = (
    CampaignContent(language="zh-CN", title="钱包已恢复", body="本月九折。"),
    CampaignContent(language="en", title="Your wallet is back", body="10% off this month."),
)


def start(
    targets: tuple[str, ...] = ("a1", "a2", "a3"), rate: int = 1, **changes: object
) -> StartCampaign:
    values: dict[str, object] = {
        "campaign_id": CAMPAIGN_ID,
        "name": "Wallet back",
        "tag": "wallet-reactivated",
        "channel": C.WECHAT,
        "contents": CONTENTS,
        "default_language": "en",
        "rate_per_minute": rate,
        "audience": Audience(targets, ("n1",), ("x1",)),
        "started_by": "sup-1",
        "at": T0,
    }
    values.update(changes)
    return StartCampaign(**values)  # type: ignore[arg-type]


def running(targets: tuple[str, ...] = ("a1", "a2", "a3"), rate: int = 1) -> Campaign:
    return CAMPAIGN.fold(decide_start(Campaign(), start(targets, rate)))


def ok(account: str) -> TargetCheck:
    return TargetCheck(account, consented=True, excluded=False)


# -- audience ---------------------------------------------------------------------------------


def test_only_members_who_consented_on_the_campaign_channel_are_targeted() -> None:
    audience = select_audience(
        [
            Member("b-wechat", frozenset({C.WECHAT})),
            Member("a-sms-only", frozenset({C.SMS})),
            Member("c-both", frozenset({C.SMS, C.WECHAT})),
            Member("d-opted-out", frozenset()),
        ],
        C.WECHAT,
    )
    assert audience.targets == ("b-wechat", "c-both")
    assert audience.skipped_consent == ("a-sms-only", "d-opted-out")
    assert audience.skipped_excluded == ()
    assert audience.members == 4


def test_an_open_complaint_or_appeal_excludes_whatever_the_consent() -> None:
    audience = select_audience(
        [
            Member("a", frozenset({C.SMS}), open_complaint_or_appeal=True),
            Member("b", frozenset(), open_complaint_or_appeal=True),
            Member("c", frozenset({C.SMS})),
        ],
        C.SMS,
    )
    assert audience.targets == ("c",)
    assert audience.skipped_excluded == ("a", "b")
    assert audience.skipped_consent == ()


def test_the_audience_is_in_account_order_and_each_member_counted_once() -> None:
    members = [Member(ref, frozenset({C.EMAIL})) for ref in ("z", "m", "a", "m")]
    assert select_audience(members, C.EMAIL).targets == ("a", "m", "z")
    assert select_audience(reversed(members), C.EMAIL).targets == ("a", "m", "z")


@pytest.mark.parametrize(
    ("case_type", "appealed", "escalated", "excluded"),
    [
        (CaseType.ACCOUNT_SUSPENSION_APPEAL, False, False, True),
        (CaseType.THIRD_PARTY_REPORT_DISPUTE, False, False, True),
        (CaseType.MINOR_SPENDING_REFUND, False, False, True),
        (CaseType.WALLET_REACTIVATION, False, False, False),
        (CaseType.ACCOUNT_RECOVERY_LOST_PHONE, False, False, False),
        (CaseType.OTHER, False, False, False),
        (CaseType.WALLET_REACTIVATION, True, False, True),
        (CaseType.OTHER, False, True, True),
    ],
)
def test_which_open_cases_are_a_complaint_or_an_appeal(
    case_type: CaseType, appealed: bool, escalated: bool, excluded: bool
) -> None:
    assert is_complaint_or_appeal(case_type, appealed=appealed, escalated=escalated) is excluded


# -- throttle ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "batch", "interval"),
    [
        (1, 1, timedelta(seconds=60)),
        (5, 1, timedelta(seconds=12)),
        (60, 1, timedelta(seconds=1)),
        (100, 2, timedelta(seconds=1.2)),
        (6000, 100, timedelta(seconds=1)),
    ],
)
def test_the_throttle_handles_exactly_the_rate_per_minute(
    rate: int, batch: int, interval: timedelta
) -> None:
    plan = throttle(rate)
    assert (plan.batch_size, plan.interval) == (batch, interval)
    assert plan.batch_size * (timedelta(minutes=1) / plan.interval) == pytest.approx(rate)


@pytest.mark.parametrize("rate", [0, -1, 6001])
def test_a_rate_out_of_bounds_is_refused(rate: int) -> None:
    with pytest.raises(RuleViolation, match="rate"):
        throttle(rate)


# -- start ------------------------------------------------------------------------------------


def test_start_records_the_counts_of_the_audience() -> None:
    [started] = decide_start(Campaign(), start())
    assert isinstance(started, CampaignStarted)
    assert (started.members, started.targeted) == (5, 3)
    assert (started.skipped_consent, started.skipped_excluded) == (1, 1)
    state = CAMPAIGN.fold([started])
    assert state.status is CampaignStatus.RUNNING
    assert state.remaining == 3


def test_a_campaign_with_no_target_completes_at_once() -> None:
    events = decide_start(Campaign(), start(targets=()))
    assert [type(e) for e in events] == [CampaignStarted, CampaignCompleted]
    assert CAMPAIGN.fold(events).status is CampaignStatus.COMPLETED


def test_a_campaign_starts_once() -> None:
    with pytest.raises(RuleViolation, match="already started"):
        decide_start(running(), start())


def test_the_default_language_needs_content() -> None:
    with pytest.raises(RuleViolation, match="default language"):
        decide_start(Campaign(), start(default_language="fr"))


def test_each_language_is_given_once() -> None:
    with pytest.raises(RuleViolation, match="once"):
        decide_start(Campaign(), start(contents=(*CONTENTS, CONTENTS[1])))


def test_the_content_follows_the_person_s_language_with_a_fallback() -> None:
    assert content_for(CONTENTS, "en", "zh-CN").language == "zh-CN"
    assert content_for(CONTENTS, "en", "zh-cn").language == "zh-CN"
    assert content_for(CONTENTS, "en", "zh-HK").language == "zh-CN"
    assert content_for(CONTENTS, "en", "en-GB").language == "en"
    assert content_for(CONTENTS, "en", "ja").language == "en"
    assert content_for(CONTENTS, "en", None).language == "en"


# -- batches ----------------------------------------------------------------------------------


def test_batches_take_the_targets_in_order_at_the_rate() -> None:
    targets = tuple(f"a{i}" for i in range(5))
    history = list(decide_start(Campaign(), start(targets, rate=120)))  # 2 per batch
    state = CAMPAIGN.fold(history)
    assert next_batch_positions(state) == range(0, 2)
    decision = decide_batch(state, [ok("a0"), ok("a1")], T0)
    assert decision.requested == ("a0", "a1")
    [progressed] = decision.events
    assert isinstance(progressed, CampaignProgressed)
    assert progressed.processed == 2
    state = CAMPAIGN.fold([*history, progressed])
    assert next_batch_positions(state) == range(2, 4)
    assert state.throttle.interval == timedelta(seconds=1)


def test_a_batch_skips_who_withdrew_consent_or_opened_a_complaint_since_the_start() -> None:
    state = running(targets=("a1", "a2", "a3"), rate=180)  # the whole audience in one batch
    decision = decide_batch(
        state,
        [
            ok("a1"),
            TargetCheck("a2", consented=False, excluded=False),
            TargetCheck("a3", consented=True, excluded=True),
        ],
        T0,
    )
    assert decision.requested == ("a1",)
    progressed, completed = decision.events
    assert isinstance(progressed, CampaignProgressed)
    assert progressed.skipped_consent == ["a2"]
    assert progressed.skipped_excluded == ["a3"]
    assert isinstance(completed, CampaignCompleted)
    # at the start: 1 without consent, 1 excluded; in the batch: one more of each
    assert (completed.requested, completed.skipped_consent, completed.skipped_excluded) == (
        1,
        2,
        2,
    )


def test_the_last_batch_completes_the_campaign() -> None:
    state = running(targets=("a1", "a2"), rate=1)
    history = list(decide_start(Campaign(), start(("a1", "a2"), 1)))
    first = decide_batch(state, [ok("a1")], T0)
    assert [type(e) for e in first.events] == [CampaignProgressed]
    history += first.events
    state = CAMPAIGN.fold(history)
    second = decide_batch(state, [ok("a2")], T0 + timedelta(minutes=1))
    assert [type(e) for e in second.events] == [CampaignProgressed, CampaignCompleted]
    state = CAMPAIGN.fold(history + second.events)
    assert state.status is CampaignStatus.COMPLETED
    assert (state.requested, state.remaining) == (2, 0)
    assert next_batch_positions(state) == range(0)


def test_a_batch_must_cover_exactly_the_next_targets() -> None:
    with pytest.raises(RuleViolation, match="batch of 1"):
        decide_batch(running(rate=1), [ok("a1"), ok("a2")], T0)


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_stops_the_next_batch_and_counts_who_was_not_reached() -> None:
    history = list(decide_start(Campaign(), start(("a1", "a2", "a3"), 1)))
    history += decide_batch(CAMPAIGN.fold(history), [ok("a1")], T0).events
    [cancelled] = decide_cancel(
        CAMPAIGN.fold(history), CancelCampaign("sup-1", "wrong audience", T0)
    )
    assert isinstance(cancelled, CampaignCancelled)
    assert (cancelled.requested, cancelled.not_reached) == (1, 2)
    state = CAMPAIGN.fold([*history, cancelled])
    assert state.status is CampaignStatus.CANCELLED
    # a batch timer that fires late (it was already running when the cancel came) sends nothing
    assert next_batch_positions(state) == range(0)
    assert decide_batch(state, [], T0).events == []
    assert decide_batch(state, [], T0).requested == ()


@pytest.mark.parametrize("targets", [(), ("a1",)])
def test_a_finished_campaign_cannot_be_cancelled(targets: tuple[str, ...]) -> None:
    history = list(decide_start(Campaign(), start(targets, 1)))
    if targets:
        history += decide_batch(CAMPAIGN.fold(history), [ok("a1")], T0).events
    with pytest.raises(RuleViolation, match="already completed"):
        decide_cancel(CAMPAIGN.fold(history), CancelCampaign("sup-1", None, T0))
    cancelled = list(decide_start(Campaign(), start(("a1",), 1)))
    cancelled += decide_cancel(CAMPAIGN.fold(cancelled), CancelCampaign("sup-1", None, T0))
    with pytest.raises(RuleViolation, match="already cancelled"):
        decide_cancel(CAMPAIGN.fold(cancelled), CancelCampaign("sup-1", None, T0))


def test_an_unknown_campaign_cannot_be_cancelled() -> None:
    with pytest.raises(RuleViolation, match="never started"):
        decide_cancel(Campaign(), CancelCampaign("sup-1", None, T0))
