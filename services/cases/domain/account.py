"""The account aggregate: platform suspensions recorded on it, tags on its customer.

A long-lived stream (every suspension and tag of the account, for years): it keeps snapshots,
so a command costs the same on its thousandth event as on its first. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.cases import SuspensionRule
from contracts.events.cases_accounts import (
    CustomerTagged,
    CustomerUntagged,
    SuspensionRecorded,
)
from contracts.events.platform import SuspensionScope
from runtime.aggregate import AggregateType, Snapshots
from runtime.errors import NotFound, RuleViolation


@dataclass(frozen=True)
class Account:
    account_ref: str | None = None
    suspensions: dict[UUID, SuspensionRule] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()

    def standing_suspensions(self) -> tuple[SuspensionRule, ...]:
        return tuple(sorted(self.suspensions.values(), key=lambda s: s.suspended_at))


@dataclass(frozen=True)
class RecordSuspension:
    account_ref: str
    scope: SuspensionScope
    suspension: SuspensionRule
    platform_event_id: UUID
    at: datetime


@dataclass(frozen=True)
class TagCustomer:
    account_ref: str
    tag: str
    at: datetime
    campaign_id: str | None = None
    case_id: UUID | None = None


@dataclass(frozen=True)
class UntagCustomer:
    account_ref: str
    tag: str
    at: datetime


def decide(
    account: Account, command: RecordSuspension | TagCustomer | UntagCustomer
) -> list[EventPayload]:
    match command:
        case RecordSuspension():
            if command.suspension.suspension_id in account.suspensions:
                return []  # the platform told us twice
            return [
                SuspensionRecorded(
                    account_ref=command.account_ref,
                    scope=command.scope,
                    suspension=command.suspension,
                    platform_event_id=command.platform_event_id,
                    recorded_at=command.at,
                )
            ]
        case TagCustomer():
            if command.tag in account.tags:
                raise RuleViolation(f"the customer already has the tag {command.tag}")
            return [
                CustomerTagged(
                    account_ref=command.account_ref,
                    tag=command.tag,
                    campaign_id=command.campaign_id,
                    case_id=command.case_id,
                    tagged_at=command.at,
                )
            ]
        case UntagCustomer():
            if command.tag not in account.tags:
                raise NotFound(f"the customer has no tag {command.tag}")
            return [
                CustomerUntagged(
                    account_ref=command.account_ref, tag=command.tag, untagged_at=command.at
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def evolve(account: Account, event: EventPayload) -> Account:
    match event:
        case SuspensionRecorded():
            suspensions = {**account.suspensions, event.suspension.suspension_id: event.suspension}
            return replace(account, account_ref=event.account_ref, suspensions=suspensions)
        case CustomerTagged():
            return replace(account, account_ref=event.account_ref, tags=account.tags | {event.tag})
        case CustomerUntagged():
            return replace(account, tags=account.tags - {event.tag})
    return account


ACCOUNT = AggregateType[Account]("account", Account, evolve, Snapshots(version=1))


def account_stream(account_ref: str) -> str:
    return f"account-{account_ref}"
