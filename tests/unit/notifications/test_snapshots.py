"""The long-lived aggregates (a person's preferences, a campaign) keep snapshots: their state
must come back from a snapshot's JSON exactly as it was."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts.events.notifications import HoursWindow, MessageChannel, RecipientPreferencesSet
from contracts.events.notifications_campaigns import CampaignContent
from services.notifications.domain.campaigns import (
    CAMPAIGN,
    Audience,
    StartCampaign,
    TargetCheck,
    decide_batch,
    decide_start,
)
from services.notifications.domain.recipients import RECIPIENT, Recipient

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def round_trip(aggregate: object, state: object) -> object:
    dumped = json.loads(json.dumps(aggregate.dump_state(state)))  # type: ignore[attr-defined]
    return aggregate.load_state(dumped)  # type: ignore[attr-defined]


def test_a_recipients_preferences_round_trip_through_a_snapshot() -> None:
    assert RECIPIENT.snapshots is not None
    assert round_trip(RECIPIENT, Recipient()) == Recipient()
    prefs = RecipientPreferencesSet(
        account_ref="acct-1",
        channels=[MessageChannel.WECHAT, MessageChannel.SMS],
        language="zh-CN",
        timezone="Asia/Shanghai",
        preferred_hours=HoursWindow(start="09:00", end="18:00"),
        quiet_hours=HoursWindow(start="22:00", end="07:00"),
        marketing_consent=[MessageChannel.SMS],
        phone="+8613800000001",
        wechat="wx-1",
        set_by="agent-1",
        set_at=AT,
    )
    state = RECIPIENT.fold([prefs])
    assert round_trip(RECIPIENT, state) == state


def test_a_campaign_round_trips_through_a_snapshot() -> None:
    assert CAMPAIGN.snapshots is not None
    command = StartCampaign(
        campaign_id=uuid.uuid4(),
        name="Wallet back",
        tag="wallet-reactivated",
        channel=MessageChannel.SMS,
        contents=(
            CampaignContent(language="zh-CN", title="钱包", body="您的钱包已恢复"),
            CampaignContent(language="en", title="Wallet", body="Your wallet is back"),
        ),
        default_language="en",
        rate_per_minute=1,
        audience=Audience(targets=("a", "b"), skipped_consent=("c",), skipped_excluded=()),
        started_by="supervisor-1",
        at=AT,
    )
    state = CAMPAIGN.fold(decide_start(CAMPAIGN.initial(), command))
    state = CAMPAIGN.fold(
        decide_batch(state, [TargetCheck("a", True, False, True, True)], AT).events, state
    )
    assert state.processed == 1
    assert round_trip(CAMPAIGN, state) == state
