"""The campaign aggregate: one template sent to the customers with a tag, throttled, once each.

Pure, no I/O. A campaign starts with its audience counted and split (``select_audience``):
the tag's members who consented to marketing on the campaign's channel and have no open
complaint or appeal are its targets, in account order. Batches of ``batch_size`` targets are
handled every ``interval`` (``throttle``), re-checking each target's consent and exclusion at
that moment (still tagged, still consenting, no open complaint or appeal, some hour left that
marketing may reach them in); the last batch completes the campaign. A message is due at the
person's next allowed hour, so it may wait after its batch. A cancel stops the next batch and
withdraws the messages still waiting: a target is either in a recorded batch (its message
requested in the same transaction) or never messaged, and nothing is sent after the cancel.

A verified organization's contact centre runs its own campaigns (``organization_id``; None:
the platform's own): their audience is the customers that organization tagged, consenting to
that organization's marketing (consent is per sender), and their messages name it as the
sender (``sender_variables``). An organization not verified yet starts none.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.cases import CaseType
from contracts.events.notifications import MessageChannel
from contracts.events.notifications_campaigns import (
    CampaignCancelled,
    CampaignCompleted,
    CampaignContent,
    CampaignProgressed,
    CampaignStarted,
)
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import RuleViolation
from runtime.organizations import VerifiedOrganization, require_verified

MAX_RATE_PER_MINUTE = 6000

# Case types that are a complaint or an appeal: a customer with one open is never sent
# marketing. A case of any type that was appealed (reopened on appeal) or escalated
# (repeated contacts that went nowhere, a missed callback) counts too.
COMPLAINT_OR_APPEAL_TYPES: frozenset[CaseType] = frozenset(
    {
        CaseType.ACCOUNT_SUSPENSION_APPEAL,
        CaseType.THIRD_PARTY_REPORT_DISPUTE,
        CaseType.MINOR_SPENDING_REFUND,
    }
)


def is_complaint_or_appeal(case_type: CaseType, *, appealed: bool, escalated: bool) -> bool:
    return case_type in COMPLAINT_OR_APPEAL_TYPES or appealed or escalated


class CampaignStatus(StrEnum):
    NONE = "none"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# -- audience ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A customer with the tag, as the read models see them now."""

    account_ref: str
    marketing_consent: frozenset[MessageChannel] = frozenset()
    open_complaint_or_appeal: bool = False


@dataclass(frozen=True)
class Audience:
    targets: tuple[str, ...]
    skipped_consent: tuple[str, ...]
    skipped_excluded: tuple[str, ...]

    @property
    def members(self) -> int:
        return len(self.targets) + len(self.skipped_consent) + len(self.skipped_excluded)


def select_audience(members: Iterable[Member], channel: MessageChannel) -> Audience:
    """Targets in account order (deterministic); an exclusion wins over a missing consent (a
    person with an open complaint is counted as excluded, whatever their consent)."""
    targets, no_consent, excluded = [], [], []
    for member in sorted({m.account_ref: m for m in members}.values(), key=_by_account):
        if member.open_complaint_or_appeal:
            excluded.append(member.account_ref)
        elif channel not in member.marketing_consent:
            no_consent.append(member.account_ref)
        else:
            targets.append(member.account_ref)
    return Audience(tuple(targets), tuple(no_consent), tuple(excluded))


def _by_account(member: Member) -> str:
    return member.account_ref


# -- throttle ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    batch_size: int
    interval: timedelta


def throttle(rate_per_minute: int) -> Throttle:
    """Batches of ``ceil(rate / 60)`` targets, spaced so that exactly ``rate`` targets are
    handled per minute: 1/min → 1 every 60 s; 5/min → 1 every 12 s; 100/min → 2 every 1.2 s."""
    if not 1 <= rate_per_minute <= MAX_RATE_PER_MINUTE:
        raise RuleViolation(f"the rate must be between 1 and {MAX_RATE_PER_MINUTE} per minute")
    batch = math.ceil(rate_per_minute / 60)
    return Throttle(batch, timedelta(minutes=1) * batch / rate_per_minute)


# -- content ----------------------------------------------------------------------------------


def content_for(
    contents: Sequence[CampaignContent], default_language: str, language: str | None
) -> CampaignContent:
    """The person's language (exact tag, then the same base language), else the default."""
    by_tag = {c.language.lower(): c for c in contents}
    if language:
        wanted = language.lower()
        if wanted in by_tag:
            return by_tag[wanted]
        base = wanted.split("-")[0]
        for tag, content in by_tag.items():
            if tag.split("-")[0] == base:
                return content
    return by_tag[default_language.lower()]


# -- the aggregate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    status: CampaignStatus = CampaignStatus.NONE
    campaign_id: UUID | None = None
    tag: str = ""
    channel: MessageChannel | None = None
    contents: tuple[CampaignContent, ...] = ()
    default_language: str = "en"
    rate_per_minute: int = 1
    members: int = 0
    targeted: int = 0
    processed: int = 0
    requested: int = 0
    skipped_consent: int = 0
    skipped_excluded: int = 0
    skipped_untagged: int = 0
    skipped_hours: int = 0
    withdrawn: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    name: str = ""
    started_by: str = ""
    organization_id: UUID | None = None  # whose contact centre runs it (None: the platform's)

    @property
    def remaining(self) -> int:
        return self.targeted - self.processed

    @property
    def throttle(self) -> Throttle:
        return throttle(self.rate_per_minute)


@dataclass(frozen=True)
class StartCampaign:
    campaign_id: UUID
    name: str
    tag: str
    channel: MessageChannel
    contents: tuple[CampaignContent, ...]
    default_language: str
    rate_per_minute: int
    audience: Audience
    started_by: str
    at: datetime
    organization_id: UUID | None = None  # the starting principal's organization
    verified: VerifiedOrganization | None = None  # that organization, if verification verified it


@dataclass(frozen=True)
class TargetCheck:
    """A target as it stands when its batch runs: still tagged, still consenting, an open
    complaint or appeal, and whether any hour in the coming week lets marketing reach them."""

    account_ref: str
    consented: bool
    excluded: bool
    tagged: bool = True
    reachable_hours: bool = True

    @property
    def outcome(self) -> str:
        """What the batch does with them: the first reason to skip, else ``requested``."""
        if not self.tagged:
            return "untagged"
        if self.excluded:
            return "excluded"
        if not self.consented:
            return "consent"
        if not self.reachable_hours:
            return "hours"
        return "requested"


@dataclass(frozen=True)
class CancelCampaign:
    by: str
    reason: str | None
    at: datetime
    withdrawn: int = 0  # the campaign's waiting messages the cancel withdrew


@dataclass(frozen=True)
class BatchDecision:
    events: list[EventPayload] = field(default_factory=list)
    requested: tuple[str, ...] = ()


# How each channel's campaign message lets the person opt out: the footer's reply keyword
# (TD / 退订 / STOP), which these channels' providers report to POST
# /notifications/webhooks/inbound, or, by email, a signed one-click unsubscribe link with the
# RFC 8058 List-Unsubscribe headers (POST /notifications/unsubscribe).
REPLY_OPT_OUT_CHANNELS = frozenset({MessageChannel.SMS, MessageChannel.WECHAT, MessageChannel.QQ})
LINK_OPT_OUT_CHANNELS = frozenset({MessageChannel.EMAIL})
CAMPAIGN_CHANNELS = REPLY_OPT_OUT_CHANNELS | LINK_OPT_OUT_CHANNELS


def decide_start(state: Campaign, command: StartCampaign) -> list[EventPayload]:
    if state.status is not CampaignStatus.NONE:
        raise RuleViolation("this campaign was already started")
    require_verified(command.organization_id, command.verified)
    if command.channel not in CAMPAIGN_CHANNELS:
        raise RuleViolation(
            f"no campaigns by {command.channel.value}: its messages would offer no way to opt "
            "out that reaches us"
        )
    throttle(command.rate_per_minute)
    languages = [c.language.lower() for c in command.contents]
    if len(set(languages)) != len(languages):
        raise RuleViolation("give each language's content once")
    if command.default_language.lower() not in languages:
        raise RuleViolation("the default language needs its own content")
    audience = command.audience
    started = CampaignStarted(
        campaign_id=command.campaign_id,
        name=command.name,
        tag=command.tag,
        channel=command.channel,
        contents=list(command.contents),
        default_language=command.default_language,
        rate_per_minute=command.rate_per_minute,
        members=audience.members,
        targeted=len(audience.targets),
        skipped_consent=len(audience.skipped_consent),
        skipped_excluded=len(audience.skipped_excluded),
        started_by=command.started_by,
        started_at=command.at,
        organization_id=command.organization_id,
    )
    if audience.targets:
        return [started]
    return [started, _completed(evolve(state, started), command.at)]


def next_batch_positions(state: Campaign) -> range:
    """Which targets (by position) the next batch handles."""
    if state.status is not CampaignStatus.RUNNING:
        return range(0)
    end = min(state.targeted, state.processed + state.throttle.batch_size)
    return range(state.processed, end)


def decide_batch(state: Campaign, checks: Sequence[TargetCheck], at: datetime) -> BatchDecision:
    """Handle the next batch: message those still consenting and not excluded. Nothing when
    the campaign is no longer running (cancelled, completed): a late timer sends nothing."""
    if state.status is not CampaignStatus.RUNNING:
        return BatchDecision()
    expected = len(next_batch_positions(state))
    if len(checks) != expected:
        raise RuleViolation(f"a batch of {expected} targets was expected, not {len(checks)}")

    def having(outcome: str) -> list[str]:
        return [c.account_ref for c in checks if c.outcome == outcome]

    requested = tuple(having("requested"))
    progressed = CampaignProgressed(
        campaign_id=state.campaign_id,
        requested=list(requested),
        skipped_consent=having("consent"),
        skipped_excluded=having("excluded"),
        skipped_untagged=having("untagged"),
        skipped_hours=having("hours"),
        processed=state.processed + len(checks),
        progressed_at=at,
    )
    events: list[EventPayload] = [progressed]
    after = evolve(state, progressed)
    if after.remaining == 0:
        events.append(_completed(after, at))
    return BatchDecision(events, requested)


def _completed(state: Campaign, at: datetime) -> CampaignCompleted:
    return CampaignCompleted(
        campaign_id=state.campaign_id,
        requested=state.requested,
        skipped_consent=state.skipped_consent,
        skipped_excluded=state.skipped_excluded,
        skipped_untagged=state.skipped_untagged,
        skipped_hours=state.skipped_hours,
        completed_at=at,
    )


def may_cancel(state: Campaign) -> None:
    """A running campaign may be cancelled, and a completed one whose messages may still wait
    for the people's hours (``decide_cancel`` then needs something withdrawn)."""
    if state.status is CampaignStatus.NONE:
        raise RuleViolation("the campaign was never started")
    if state.status is CampaignStatus.CANCELLED:
        raise RuleViolation("the campaign is already cancelled")


def decide_cancel(state: Campaign, command: CancelCampaign) -> list[EventPayload]:
    may_cancel(state)
    if state.status is CampaignStatus.COMPLETED and command.withdrawn == 0:
        raise RuleViolation("the campaign is already completed and its messages have gone out")
    return [
        CampaignCancelled(
            campaign_id=state.campaign_id,
            requested=state.requested,
            not_reached=state.remaining,
            withdrawn=command.withdrawn,
            reason=command.reason,
            cancelled_by=command.by,
            cancelled_at=command.at,
        )
    ]


def evolve(state: Campaign, event: EventPayload) -> Campaign:
    match event:
        case CampaignStarted():
            return Campaign(
                status=CampaignStatus.RUNNING,
                campaign_id=event.campaign_id,
                name=event.name,
                tag=event.tag,
                channel=event.channel,
                contents=tuple(event.contents),
                default_language=event.default_language,
                rate_per_minute=event.rate_per_minute,
                members=event.members,
                targeted=event.targeted,
                skipped_consent=event.skipped_consent,
                skipped_excluded=event.skipped_excluded,
                started_by=event.started_by,
                started_at=event.started_at,
                organization_id=event.organization_id,
            )
        case CampaignProgressed():
            return replace(
                state,
                processed=event.processed,
                requested=state.requested + len(event.requested),
                skipped_consent=state.skipped_consent + len(event.skipped_consent),
                skipped_excluded=state.skipped_excluded + len(event.skipped_excluded),
                skipped_untagged=state.skipped_untagged + len(event.skipped_untagged),
                skipped_hours=state.skipped_hours + len(event.skipped_hours),
            )
        case CampaignCompleted():
            return replace(state, status=CampaignStatus.COMPLETED, finished_at=event.completed_at)
        case CampaignCancelled():
            return replace(
                state,
                status=CampaignStatus.CANCELLED,
                finished_at=event.cancelled_at,
                withdrawn=event.withdrawn,
            )
    return state


def sender_variables(organization: VerifiedOrganization | None) -> dict[str, str]:
    """The campaign template's sender: an organization's campaign names it by its verified
    legal name (the platform's names nobody: it is the platform's own message)."""
    return {"sender": organization.legal_name} if organization is not None else {}


# a campaign appends a progress event per batch, for as long as its audience lasts: snapshot
# it at the default interval (runtime.aggregate.Snapshots says why 20)
CAMPAIGN = AggregateType[Campaign]("campaign", Campaign, evolve, Snapshots(version=2))


def campaign_stream(campaign: UUID) -> str:
    return f"campaign-{campaign}"
