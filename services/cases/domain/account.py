"""The account aggregate: platform suspensions recorded on it, tags on its customer.

Tags belong to whoever put them: the platform's own service centre, or a verified
organization's contact centre (for its campaigns alone). The platform's ``vip`` and each
organization's ``vip`` on one account are different tags.

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
from runtime.errors import InvalidValue, NotFound, RuleViolation
from runtime.organizations import VerifiedOrganization, require_verified


@dataclass(frozen=True)
class Account:
    account_ref: str | None = None
    suspensions: dict[UUID, SuspensionRule] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()  # the platform's own
    organization_tags: dict[UUID, frozenset[str]] = field(default_factory=dict)

    def standing_suspensions(self) -> tuple[SuspensionRule, ...]:
        return tuple(sorted(self.suspensions.values(), key=lambda s: s.suspended_at))

    def tags_of(self, organization_id: UUID | None) -> frozenset[str]:
        """The tags one owner put on the customer (None: the platform's service centre)."""
        if organization_id is None:
            return self.tags
        return self.organization_tags.get(organization_id, frozenset())

    def with_tags(self, organization_id: UUID | None, tags: frozenset[str]) -> Account:
        if organization_id is None:
            return replace(self, tags=tags)
        owned = {**self.organization_tags, organization_id: tags}
        return replace(self, organization_tags={o: t for o, t in owned.items() if t})


@dataclass(frozen=True)
class AccountFacts:
    """What the application gathered beside the account's history, for ``decide``."""

    # the organization whose contact centre tags or untags, as verification verified it
    # (None: not verified, or the platform's own tag)
    organization: VerifiedOrganization | None = None


NO_FACTS = AccountFacts()


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
    organization_id: UUID | None = None  # whose tag (None: the platform's)


@dataclass(frozen=True)
class UntagCustomer:
    account_ref: str
    tag: str
    at: datetime
    organization_id: UUID | None = None  # whose tag (None: the platform's)


def decide(
    account: Account, facts: AccountFacts, command: RecordSuspension | TagCustomer | UntagCustomer
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
            require_verified(command.organization_id, facts.organization)
            if command.organization_id is not None and command.case_id is not None:
                raise InvalidValue(
                    "case_id", "an organization's tag names no case: cases are the platform's"
                )
            if command.tag in account.tags_of(command.organization_id):
                raise RuleViolation(f"the customer already has the tag {command.tag}")
            return [
                CustomerTagged(
                    account_ref=command.account_ref,
                    tag=command.tag,
                    campaign_id=command.campaign_id,
                    case_id=command.case_id,
                    tagged_at=command.at,
                    organization_id=command.organization_id,
                )
            ]
        case UntagCustomer():
            require_verified(command.organization_id, facts.organization)
            if command.tag not in account.tags_of(command.organization_id):
                raise NotFound(f"the customer has no tag {command.tag}")
            return [
                CustomerUntagged(
                    account_ref=command.account_ref,
                    tag=command.tag,
                    untagged_at=command.at,
                    organization_id=command.organization_id,
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def evolve(account: Account, event: EventPayload) -> Account:
    match event:
        case SuspensionRecorded():
            suspensions = {**account.suspensions, event.suspension.suspension_id: event.suspension}
            return replace(account, account_ref=event.account_ref, suspensions=suspensions)
        case CustomerTagged():
            owner = event.organization_id
            tagged = account.with_tags(owner, account.tags_of(owner) | {event.tag})
            return replace(tagged, account_ref=event.account_ref)
        case CustomerUntagged():
            owner = event.organization_id
            return account.with_tags(owner, account.tags_of(owner) - {event.tag})
    return account


# version 2: tags per owner (the platform's, each organization's)
ACCOUNT = AggregateType[Account]("account", Account, evolve, Snapshots(version=2))


def account_stream(account_ref: str) -> str:
    return f"account-{account_ref}"
