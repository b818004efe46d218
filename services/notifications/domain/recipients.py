"""A recipient's preferences: channels in order, language, timezone, hours and marketing
consent — to the platform's campaigns (in the preferences) and, per sender, to each verified
organization's (``organization_consent``). Pure, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.notifications import HoursWindow, MessageChannel, RecipientPreferencesSet
from contracts.events.notifications_consent import OrganizationConsentSet
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import RuleViolation
from runtime.organizations import VerifiedOrganization, require_verified
from services.notifications.domain.hours import (
    DEFAULT_PREFERRED,
    DEFAULT_QUIET,
    Availability,
    next_marketing_moment,
    zone,
)


@dataclass(frozen=True)
class Recipient:
    preferences: RecipientPreferencesSet | None = None
    # the channels the person agreed to receive each verified organization's marketing on
    # (consent is per sender: the preferences' marketing consent is to the platform's own)
    organization_consent: dict[UUID, frozenset[MessageChannel]] = field(default_factory=dict)

    def consent_to(self, organization_id: UUID | None) -> frozenset[MessageChannel]:
        """The channels the person agreed to receive the sender's marketing on (None: the
        platform's own campaigns)."""
        if organization_id is None:
            prefs = self.preferences
            return frozenset(prefs.marketing_consent) if prefs else frozenset()
        return self.organization_consent.get(organization_id, frozenset())


@dataclass(frozen=True)
class SetPreferences:
    account_ref: str
    channels: tuple[MessageChannel, ...]
    language: str | None
    timezone: str | None
    preferred_hours: HoursWindow | None
    quiet_hours: HoursWindow | None
    marketing_consent: tuple[MessageChannel, ...]
    addresses: dict[MessageChannel, str]
    set_by: str
    at: datetime


def decide_preferences(state: Recipient, command: SetPreferences) -> list[EventPayload]:
    if len(set(command.channels)) != len(command.channels):
        raise RuleViolation("each channel may appear once in the order")
    missing = [
        c.value
        for c in (*command.channels, *command.marketing_consent)
        if c not in command.addresses
    ]
    if missing:
        raise RuleViolation(f"no address given for {', '.join(sorted(set(missing)))}")
    if command.timezone is not None:
        zone(command.timezone)
    return [
        RecipientPreferencesSet(
            account_ref=command.account_ref,
            channels=list(command.channels),
            language=command.language,
            timezone=command.timezone,
            preferred_hours=command.preferred_hours,
            quiet_hours=command.quiet_hours,
            marketing_consent=list(command.marketing_consent),
            phone=command.addresses.get(MessageChannel.SMS),
            email=command.addresses.get(MessageChannel.EMAIL),
            wechat=command.addresses.get(MessageChannel.WECHAT),
            qq=command.addresses.get(MessageChannel.QQ),
            set_by=command.set_by,
            set_at=command.at,
        )
    ]


@dataclass(frozen=True)
class SetOrganizationConsent:
    """An organization's staff record, on the person's word, the channels the person agrees
    to receive that organization's marketing on (empty: none)."""

    account_ref: str
    organization_id: UUID
    marketing_consent: tuple[MessageChannel, ...]
    set_by: str
    at: datetime


def decide_organization_consent(
    state: Recipient, verified: VerifiedOrganization | None, command: SetOrganizationConsent
) -> list[EventPayload]:
    """Consent to one organization's campaigns, restated as a whole; the organization must be
    verified. It reaches the person only on channels their preferences give an address for
    (``marketing_consented``): an organization's staff never set a person's addresses."""
    require_verified(command.organization_id, verified)
    if len(set(command.marketing_consent)) != len(command.marketing_consent):
        raise RuleViolation("each channel may appear once in the consent")
    return [
        OrganizationConsentSet(
            account_ref=command.account_ref,
            organization_id=command.organization_id,
            marketing_consent=list(command.marketing_consent),
            set_by=command.set_by,
            set_at=command.at,
        )
    ]


# -- inbound opt-out --------------------------------------------------------------------------

# What a reply to a marketing message may say to withdraw consent on its channel (the campaign
# template's footer promises "回复 TD 退订" / "Reply STOP"), compared case-insensitively after
# Unicode compatibility folding (a full-width TD counts) and trimming spaces and end punctuation.
OPT_OUT_KEYWORDS = frozenset({"td", "退订", "stop"})
_TRIM = " \t\r\n\u3000.\u3002!\uff01"  # spaces, full stops, exclamation marks


def opt_out_keyword(text: str) -> str | None:
    """The opt-out keyword a reply is (``TD``, ``退订``, ``STOP``), else None: only the
    keyword alone counts, not a sentence that contains it."""
    folded = unicodedata.normalize("NFKC", text).strip(_TRIM).casefold()
    if folded not in OPT_OUT_KEYWORDS:
        return None
    return folded.upper() if folded.isascii() else folded


INBOUND_CHANNELS = (MessageChannel.SMS, MessageChannel.WECHAT, MessageChannel.QQ)
_PHONE_NOISE = re.compile(r"[\s\-().]")


def require_inbound_channel(channel: MessageChannel) -> None:
    """Replies are taken on the channels a person can answer a message on (email replies
    reach a mailbox nobody reads: its opt-out is the unsubscribe link)."""
    if channel not in INBOUND_CHANNELS:
        raise RuleViolation(f"no inbound replies on {channel.value}")


def sender_address(channel: MessageChannel, sender: str) -> str:
    """The sender as our preferences store it: an E.164 phone (providers may send ``0086…``
    or the digits without ``+``; spaces, dashes and brackets dropped), or the open id as is."""
    sender = sender.strip()
    if channel is not MessageChannel.SMS:
        return sender
    digits = _PHONE_NOISE.sub("", sender)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.isdigit():
        digits = "+" + digits
    return digits


@dataclass(frozen=True)
class OptOut:
    """The person replied an opt-out keyword from ``address`` on ``channel``."""

    channel: MessageChannel
    address: str
    keyword: str
    at: datetime


def decide_opt_out(state: Recipient, command: OptOut) -> list[EventPayload]:
    """Withdraw marketing consent on the reply's channel, restating everything else: to the
    platform and to every organization (a reply reaches our one number or account whoever
    the sender was, so it cannot say whose marketing it refuses: withdrawing all is the safe
    side). Nothing when the person gave no consent there, or when the address is no longer
    theirs on that channel (they changed it since: the reply came from someone else's
    number now)."""
    prefs = state.preferences
    channel = command.channel
    if prefs is None or address_of(prefs, channel) != command.address:
        return []
    set_by = f"inbound:{channel.value}"
    reason = f"inbound opt-out reply {command.keyword} on {channel.value}"
    events: list[EventPayload] = []
    if channel in prefs.marketing_consent:
        events.append(
            RecipientPreferencesSet.model_validate(
                {
                    **prefs.model_dump(),
                    "marketing_consent": [c for c in prefs.marketing_consent if c != channel],
                    "set_by": set_by,
                    "reason": reason,
                    "set_at": command.at,
                }
            )
        )
    for organization_id in sorted(state.organization_consent, key=str):
        events += _withdraw_organization_consent(
            state, organization_id, channel, set_by, command.at
        )
    return events


def _withdraw_organization_consent(
    state: Recipient,
    organization_id: UUID,
    channel: MessageChannel,
    set_by: str,
    at: datetime,
) -> list[EventPayload]:
    consent = state.organization_consent.get(organization_id, frozenset())
    if channel not in consent or state.preferences is None:
        return []
    return [
        OrganizationConsentSet(
            account_ref=state.preferences.account_ref,
            organization_id=organization_id,
            marketing_consent=[c for c in MessageChannel if c in consent and c != channel],
            set_by=set_by,
            set_at=at,
        )
    ]


@dataclass(frozen=True)
class Unsubscribe:
    """The person followed the unsubscribe link of a campaign's message on ``channel``."""

    channel: MessageChannel
    campaign_id: UUID
    at: datetime
    organization_id: UUID | None = None  # whose campaign it was (None: the platform's)


def decide_unsubscribe(state: Recipient, command: Unsubscribe) -> list[EventPayload]:
    """Withdraw marketing consent on the link's channel, restating everything else; nothing
    when there is none there (already withdrawn: a second click changes nothing). The link
    names the account, not the address: it withdraws the account's consent on that channel
    even when the address changed since (withdrawing is the safe side). An organization's
    campaign's link withdraws the consent to that organization alone."""
    if command.organization_id is not None:
        return _withdraw_organization_consent(
            state,
            command.organization_id,
            command.channel,
            f"unsubscribe:{command.channel.value}",
            command.at,
        )
    prefs = state.preferences
    if prefs is None or command.channel not in prefs.marketing_consent:
        return []
    return [
        RecipientPreferencesSet.model_validate(
            {
                **prefs.model_dump(),
                "marketing_consent": [c for c in prefs.marketing_consent if c != command.channel],
                "set_by": f"unsubscribe:{command.channel.value}",
                "reason": (
                    f"unsubscribe link on {command.channel.value} (campaign {command.campaign_id})"
                ),
                "set_at": command.at,
            }
        )
    ]


def address_of(prefs: RecipientPreferencesSet, channel: MessageChannel) -> str | None:
    return {
        MessageChannel.SMS: prefs.phone,
        MessageChannel.EMAIL: prefs.email,
        MessageChannel.WECHAT: prefs.wechat,
        MessageChannel.QQ: prefs.qq,
    }[channel]


# -- how to reach a person --------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """Where and how a person wants messages: channels in order, with an address each."""

    channels: tuple[MessageChannel, ...]
    addresses: dict[MessageChannel, str] = field(default_factory=dict)
    language: str | None = None
    timezone: str | None = None
    marketing_consent: frozenset[MessageChannel] = frozenset()

    def without(self, *excluded: MessageChannel) -> Reach:
        channels = tuple(c for c in self.channels if c not in excluded)
        return Reach(channels, self.addresses, self.language, self.timezone, self.marketing_consent)


def reach_of(prefs: RecipientPreferencesSet | None, phone: str | None = None) -> Reach:
    """The person's own channels when they set some, else SMS to the phone the triggering
    event gave. A phone from the event is kept as the last resort when they have none."""
    addresses: dict[MessageChannel, str] = {}
    if phone:
        addresses[MessageChannel.SMS] = phone
    if prefs is None:
        return Reach((MessageChannel.SMS,) if phone else (), addresses)
    for channel in MessageChannel:
        value = address_of(prefs, channel)
        if value:
            addresses[channel] = value
    channels = tuple(c for c in prefs.channels if c in addresses)
    if MessageChannel.SMS in addresses and MessageChannel.SMS not in channels:
        channels = (*channels, MessageChannel.SMS)
    return Reach(
        channels,
        addresses,
        prefs.language,
        prefs.timezone,
        frozenset(c for c in prefs.marketing_consent if c in addresses),
    )


# -- marketing: consent and hours ---------------------------------------------------------------


class MarketingHours(Protocol):
    """The service's marketing window, and the timezone of people who gave none."""

    marketing_window_start: str
    marketing_window_end: str
    marketing_timezone: str


def marketing_moment(
    prefs: RecipientPreferencesSet | None, hours: MarketingHours, after: datetime
) -> datetime | None:
    """When marketing may next reach the person (``after`` itself when it may now): the
    service's marketing window in their timezone, their preferred hours, never their quiet
    hours (the defaults when they set none). None: no moment in the coming week."""
    availability = Availability(
        timezone=(prefs.timezone if prefs else None) or hours.marketing_timezone,
        preferred=(prefs.preferred_hours if prefs else None) or DEFAULT_PREFERRED,
        quiet=(prefs.quiet_hours if prefs else None) or DEFAULT_QUIET,
    )
    window = HoursWindow(start=hours.marketing_window_start, end=hours.marketing_window_end)
    return next_marketing_moment(after, availability, window)


def marketing_consented(
    prefs: RecipientPreferencesSet | None,
    channel: MessageChannel,
    consent: frozenset[MessageChannel] | None = None,
) -> bool:
    """Consent to marketing on the channel, with an address for it (none once erased). The
    consent is the platform's (the preferences') unless another sender's is given
    (``Recipient.consent_to``)."""
    if prefs is None:
        return False
    given = frozenset(prefs.marketing_consent) if consent is None else consent
    return channel in given and address_of(prefs, channel) is not None


def evolve(state: Recipient, event: EventPayload) -> Recipient:
    match event:
        case RecipientPreferencesSet():
            return replace(state, preferences=event)
        case OrganizationConsentSet():
            consent = {**state.organization_consent}
            consent[event.organization_id] = frozenset(event.marketing_consent)
            return replace(state, organization_consent=consent)
    return state


# a person's preferences live as long as their account: snapshot them (a snapshot holds their
# addresses: the service's redact_subject deletes it with the rest of their data)
RECIPIENT = AggregateType[Recipient]("recipient", Recipient, evolve, Snapshots(version=2, every=20))


def recipient_stream(account_ref: str) -> str:
    return f"recipient-{account_ref}"
