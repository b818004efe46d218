"""A recipient's preferences: channels in order, language, timezone, hours and marketing
consent. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.base import EventPayload
from contracts.events.notifications import HoursWindow, MessageChannel, RecipientPreferencesSet
from runtime.errors import RuleViolation
from runtime.eventstore import AggregateType
from services.notifications.domain.hours import zone


@dataclass(frozen=True)
class Recipient:
    preferences: RecipientPreferencesSet | None = None


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


def evolve(state: Recipient, event: EventPayload) -> Recipient:
    if isinstance(event, RecipientPreferencesSet):
        return Recipient(preferences=event)
    return state


RECIPIENT = AggregateType[Recipient]("recipient", Recipient, evolve)


def recipient_stream(account_ref: str) -> str:
    return f"recipient-{account_ref}"
